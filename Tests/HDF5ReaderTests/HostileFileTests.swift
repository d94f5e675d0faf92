import FCNDiagnostics
import Foundation
import HDF5Reader
import Testing
import _FCNTestSupport

/// The reader against `Tests/Fixtures/hostile/` (scripts/golden/make_hostile_fixtures.py).
@Suite struct HostileFileTests {
    private func root(_ name: String) throws -> H5Group {
        try H5File(path: Fixtures.path("hostile/\(name)")).root()
    }

    @Test func refusesHugeAndOverflowingShapesAtOpen() throws {
        let root = try root("huge_declared.h5")
        #expect(throws: HDF5Error.self) { try root.dataset("huge") }
        #expect(throws: HDF5Error.self) { try root.dataset("overflow") }
        #expect(throws: HDF5Error.self) { try root.dataset("empty_bias") }
        let fine = try root.dataset("fine")
        #expect(try fine.readFloats(expectedShape: [2, 3]) == [0, 1, 2, 3, 4, 5])
        #expect(throws: HDF5Error.self) { try fine.readFloats(expectedShape: [3]) }
    }

    @Test func refusesDataOutsideTheFile() throws {
        let root = try root("outside_storage.h5")
        for name in ["external", "virtual", "soft", "elsewhere"] {
            #expect(throws: HDF5Error.self) { try root.dataset(name) }
        }
        #expect(try root.dataset("plain").readFloats() == [1, 1, 1, 1])
    }

    @Test func listsAWideGroupQuickly() throws {
        let started = Date()
        let names = try root("wide_group.h5").group("wide").memberNames()
        // Once quadratic (80,000 links took 59 s); one pass takes well under a second.
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(names.count == 50_000)
        #expect(names.first == "link00000")
    }

    @Test func quotesHostileNames() throws {
        #expect(QuotedName.quoted("evil\n\u{1B}[2J") == "'evil\\n\\u{1b}[2J'")
        let error = HDF5Error.missingObject(path: "m.h5", object: "/evil\n\u{1B}[2J")
        #expect(!error.description.contains("\u{1B}"))
    }
}
