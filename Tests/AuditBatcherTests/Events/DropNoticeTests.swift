import AuditBatcher
import Testing

@Suite struct DropNoticeTests {
    let time = FakeTime()

    @Test func firstDropIsReportedAtOnce() {
        var notice = DropNotice()
        #expect(notice.record(3, now: time.at(0)) == 3)
        #expect(notice.unreported == 0)
    }

    @Test func dropsWithinAMinuteAccumulateIntoTheNextLine() {
        var notice = DropNotice()
        _ = notice.record(1, now: time.at(0))
        #expect(notice.record(2, now: time.at(10)) == nil)
        #expect(notice.record(5, now: time.at(59)) == nil)
        #expect(notice.nextNoticeAt == time.at(60))
        #expect(notice.record(1, now: time.at(60)) == 8)
        #expect(notice.record(1, now: time.at(61)) == nil)
    }

    @Test func pollReportsDropsThatStoppedArriving() {
        var notice = DropNotice()
        _ = notice.record(1, now: time.at(0))
        _ = notice.record(4, now: time.at(1))
        #expect(notice.poll(now: time.at(30)) == nil)
        #expect(notice.poll(now: time.at(60)) == 4)
        #expect(notice.poll(now: time.at(200)) == nil)
        #expect(notice.nextNoticeAt == nil)
    }
}
