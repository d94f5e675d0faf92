import Foundation
import HDF5Reader
import Testing
import _FCNTestSupport

/// The reader against `Tests/Fixtures/hdf5/attributes.h5` (scripts/golden/make_hdf5_fixture.py)
/// and against files made broken on purpose.
@Suite struct HDF5ReaderTests {
    let root: H5Group

    init() throws {
        root = try H5File(path: Fixtures.path("hdf5/attributes.h5")).root()
    }

    @Test func readsFixedLengthStringArrays() throws {
        #expect(try root.stringListAttribute("fixed_names") == ["conv2d_1", "dense_10"])
    }

    @Test func readsVariableLengthStringsInAsciiAndUTF8() throws {
        #expect(try root.stringListAttribute("vlen_names") == ["dense", "dense_1", "flatten"])
        #expect(try root.stringAttribute("vlen_utf8") == "café → model")
    }

    @Test func joinsKerasSplitAttributes() throws {
        #expect(try root.stringListAttribute("split_names") == ["a", "b", "c"])
    }

    @Test func readsAnEmptyFloatArrayAsAnEmptyList() throws {
        #expect(try root.stringListAttribute("empty_names") == [])
    }

    @Test func trimsPaddingAndReadsNumbers() throws {
        #expect(try root.stringAttribute("padded") == "ab")
        #expect(try root.attribute("numbers") == .numbers([1, 2, 3]))
        #expect(try root.attribute("no_such_attribute") == nil)
    }

    @Test func refusesNumbersWhereStringsAreExpected() {
        #expect(throws: HDF5Error.self) { try root.stringListAttribute("numbers") }
    }

    @Test func readsDatasetsOfAnyNumericTypeAsFloat() throws {
        let matrix = try root.dataset("float32_matrix")
        #expect(matrix.shape == [3, 4])
        #expect(try matrix.readFloats() == (0..<12).map { Float($0) / 4 })
        #expect(try root.dataset("int8_values").readFloats() == [-3, 0, 7])
        let scalar = try root.dataset("scalar")
        #expect(scalar.shape == [])
        #expect(try scalar.readFloats() == [2.5])
    }

    @Test func followsSlashesInNamesAndKnowsMemberKinds() throws {
        let outer = try root.group("outer")
        #expect(try outer.memberNames() == ["inner"])
        #expect(root.memberKind("outer/inner") == .group)
        #expect(root.memberKind("outer/inner/inner/kernel:0") == .dataset)
        #expect(root.memberKind("outer/nothing/here") == nil)
        let inner = try root.group("outer/inner")
        #expect(try inner.stringListAttribute("weight_names") == ["inner/kernel:0"])
        #expect(try inner.dataset("inner/kernel:0").readFloats() == [0, 1, 2, 3, 4, 5])
    }

    @Test func namesTheMissingObject() {
        #expect(throws: HDF5Error.missingObject(path: Fixtures.path("hdf5/attributes.h5"), object: "/outer/absent")) {
            try root.group("outer").group("absent")
        }
        #expect(throws: HDF5Error.self) { try root.dataset("outer") }
    }

    @Test func refusesStringDatasetsAsNumbers() {
        #expect(throws: HDF5Error.self) { try root.dataset("strings").readFloats() }
    }
}

/// Each kind of bad file gets its own error, never a crash or libhdf5's stack dump.
@Suite struct HDF5BadFileTests {
    let scratch = try! TemporaryDirectory()

    @Test func missingFile() {
        let path = scratch.path("absent.h5")
        #expect(throws: HDF5Error.missingFile(path: path)) { try H5File(path: path) }
    }

    @Test func directory() {
        #expect(throws: HDF5Error.isDirectory(path: scratch.url.path)) { try H5File(path: scratch.url.path) }
    }

    @Test func emptyFile() throws {
        let path = try scratch.write("empty.h5", Data())
        #expect(throws: HDF5Error.emptyFile(path: path)) { try H5File(path: path) }
    }

    @Test func notHDF5() throws {
        let path = try scratch.write("text.h5", Data("just some text, not a model\n".utf8))
        #expect(throws: HDF5Error.notHDF5(path: path)) { try H5File(path: path) }
    }

    @Test(arguments: [0.1, 0.5, 0.9])
    func truncatedFileFailsWithAReason(keeping fraction: Double) throws {
        let whole = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("hdf5/attributes.h5")))
        let path = try scratch.write("truncated.h5", whole.prefix(Int(Double(whole.count) * fraction)))
        // Opening may already fail; if it does not, reading everything must.
        do {
            let root = try H5File(path: path).root()
            _ = try root.dataset("float32_matrix").readFloats()
            _ = try root.group("outer/inner").dataset("inner/kernel:0").readFloats()
            Issue.record("a truncated file read without error")
        } catch {
            #expect(error.description.contains(path))
        }
    }
}
