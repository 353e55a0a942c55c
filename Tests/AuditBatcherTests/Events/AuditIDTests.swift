import Foundation
import Testing

@testable import AuditBatcher

@Suite struct AuditIDTests {
    @Test func formatsTheBitsAsALowerCaseVersion4UUID() {
        #expect(
            AuditID.make(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
                == "01234567-89ab-4def-bedc-ba9876543210")
        #expect(AuditID.make(high: 0, low: 0) == "00000000-0000-4000-8000-000000000000")
        #expect(AuditID.make(high: .max, low: .max) == "ffffffff-ffff-4fff-bfff-ffffffffffff")
    }

    @Test func randomIDsAreDistinctUUIDsFoundationReadsBack() {
        let ids = (0..<2000).map { _ in AuditID.random() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(200) {
            let parsed = UUID(uuidString: id)
            #expect(parsed?.uuidString.lowercased() == id)
            let version = id[id.index(id.startIndex, offsetBy: 14)]
            let variant = id[id.index(id.startIndex, offsetBy: 19)]
            #expect(version == "4")
            #expect("89ab".contains(variant))
        }
    }
}
