import Testing

@testable import AuditBatcher

/// Label selectors accepted and refused as apimachinery's `labels.Parse` accepts and refuses them.
@Suite("Label selectors as the API server parses them")
struct LabelSelectorTests {
    @Test(arguments: [
        "", "  ", "app", "!app", "app=web", "app==web", "app!=web", "app=", "app==", "app=,tier", "app in (a,b)",
        "app notin (a)", "app in ()", "app in (,)", "app in (a,)", "app in (a,,b)", "x>1", "x<10", "x > 05",
        "example.com/app=web", "a.b-c_d=E.F-g_h", "in=notin", "app in (in,notin)", " app = web , !old ",
        "app=web\u{0}garbage", String(repeating: "a", count: 63) + "=" + String(repeating: "b", count: 63),
    ])
    func valid(selector: String) {
        #expect(LabelSelector.isValid(selector))
    }

    @Test(arguments: [
        "!", ",", "app,", ",app", "app=web,", "!app=web", "app in", "app in (", "app in (a", "app in a",
        "app in (a b)", "app notin", "app=a=b", "app=(a)", "x>", "x>a", "x>-1", "x>+1", "x>1.5", "app web",
        "-app", "app-", "app=-web", "Example.com/app", "/app", "a/b/c", "example.com/", "app=web!",
        String(repeating: "a", count: 64), "app=" + String(repeating: "b", count: 64), "app=wéb", "app in (a,b c)",
        "(a)", "app = = web",
    ])
    func invalid(selector: String) {
        #expect(!LabelSelector.isValid(selector))
    }
}
