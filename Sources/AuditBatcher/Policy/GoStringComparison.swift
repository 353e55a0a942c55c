/// String comparisons as Go makes them: on the UTF-8 bytes.
///
/// Swift's `==`, `hasPrefix` and `hasSuffix` treat canonically equivalent strings as equal (`é` written as U+00E9
/// or as `e` plus U+0301) and never split a character; the API server's policy checker compares bytes. These run
/// for every rule of every request, so they compare the UTF-8 views without building anything.
extension StringProtocol {
    /// Go's `a == b`.
    func goEquals(_ other: some StringProtocol) -> Bool {
        let mine = utf8
        let theirs = other.utf8
        return mine.count == theirs.count && mine.elementsEqual(theirs)
    }

    /// Go's `strings.HasPrefix`, which may end inside a character.
    func goHasPrefix(_ prefix: some StringProtocol) -> Bool {
        utf8.starts(with: prefix.utf8)
    }

    /// Go's `strings.HasSuffix`, which may start inside a character.
    func goHasSuffix(_ suffix: some StringProtocol) -> Bool {
        let mine = utf8
        let theirs = suffix.utf8
        let count = theirs.count
        guard mine.count >= count else { return false }
        return mine.suffix(count).elementsEqual(theirs)
    }
}

extension Sequence where Element: StringProtocol {
    /// Whether an element has the same bytes as `value`, like the API server's `hasString`.
    func goContains(_ value: some StringProtocol) -> Bool {
        contains { $0.goEquals(value) }
    }
}
