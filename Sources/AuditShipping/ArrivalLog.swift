/// When spooled events arrived, coarsely: a mark per `grain` in which events arrived, naming
/// the sequence number of the first. The oldest unacknowledged event's arrival is then known
/// (to within a grain, and never later than it was) for every event in the spool, including
/// those still waiting there for room in the batching machine's buffer, which the machine
/// stamps only when it takes them: under a backlog its stamp said seconds where the oldest
/// event had waited hours. Marks before the oldest event still asked about are let go.
struct ArrivalLog {
    typealias Instant = ContinuousClock.Instant

    let grain: Duration
    private var marks: [(first: UInt64, at: Instant)] = []
    /// Marks before this index are let go (removed from the array in bulk, not one by one).
    private var start = 0

    init(grain: Duration = .milliseconds(100)) {
        self.grain = grain
    }

    /// Events from `first` on were appended at `now` (sequence numbers and instants only grow).
    mutating func appended(first: UInt64, at now: Instant) {
        if start < marks.count, let last = marks.last, now - last.at < grain { return }
        marks.append((first, now))
    }

    /// When event `sequence` arrived, or up to a grain before; nil for one appended before the
    /// log began (recovered from an earlier process). Later questions may not ask about an
    /// earlier event: the marks before this one's are let go.
    mutating func arrival(of sequence: UInt64) -> Instant? {
        while marks.count - start > 1, marks[start + 1].first <= sequence { start += 1 }
        if start >= 1024, start * 2 >= marks.count {
            marks.removeFirst(start)
            start = 0
        }
        guard start < marks.count, marks[start].first <= sequence else { return nil }
        return marks[start].at
    }

    /// Marks held (for tests).
    var count: Int { marks.count - start }
}
