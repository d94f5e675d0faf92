import FCNDiagnostics
import FCNModel
import FCNTensorIO
import Foundation
import Testing
import _FCNTestSupport

/// `.npy` reading and writing, against files NumPy wrote (the golden fixtures) and files
/// made wrong on purpose.
@Suite struct NumPyFileTests {
    let scratch = try! TemporaryDirectory()

    @Test func readsWhatNumPyWrote() throws {
        let fixture = try #require(Manifest.shared.fixture(named: "k3_lenet"))
        let tensor = try NumPyFile.read(path: Fixtures.path(fixture.golden.input))
        #expect(tensor.shape == [2] + fixture.inputShape)
        #expect(tensor.values.allSatisfy { $0.isFinite })
    }

    @Test func roundTripsAndWritesAtomically() throws {
        let tensor = Tensor(shape: [2, 3, 1], values: [1, -2, 3.5, 0, .pi, -0.25])
        let path = scratch.path("out.npy")
        try NumPyFile.write(tensor, to: path)
        #expect(try NumPyFile.read(path: path) == tensor)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).filter { $0.hasSuffix(".partial") }
        #expect(leftovers.isEmpty)
        let bytes = NumPyFile.encode(tensor)
        #expect((bytes.count - 4 * 6) % 64 == 0)
    }

    @Test func readsVersionTwoHeaders() throws {
        var bytes = NumPyFile.encode(Tensor(shape: [3], values: [1, 2, 3]))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        bytes[6] = 2
        bytes.replaceSubrange(8..<10, with: [UInt8(headerLength & 0xFF), UInt8(headerLength >> 8), 0, 0])
        #expect(try NumPyFile.decode(bytes, path: "v2.npy") == Tensor(shape: [3], values: [1, 2, 3]))
    }

    private func header(_ dictionary: String, data: [UInt8]) -> [UInt8] {
        var text = dictionary
        text += String(repeating: " ", count: (64 - (10 + text.utf8.count + 1) % 64) % 64) + "\n"
        return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(text.utf8.count), 0] + Array(text.utf8) + data
    }

    /// The expected values NumPy gave each fixture (scripts/golden/make_npy_fixtures.py).
    private struct Expected: Decodable {
        let shape: [Int]?
        let values: [Float]?
    }

    private static let expected: [String: Expected] = Fixtures.decodeJSON("npy/expected.json")

    @Test(arguments: ["float64", "uint8", "int16_big", "int64", "float16", "bool", "fortran", "gray_2d", "float32"])
    func readsNumPysDefaultTypesAsFloat32(name: String) throws {
        let reference = try #require(Self.expected[name])
        var notes: [String] = []
        let tensor = try NumPyFile.read(path: Fixtures.path("npy/\(name).npy"), noting: { notes.append($0) })
        #expect(tensor.shape == reference.shape)
        #expect(tensor.values == reference.values)
        // Only a stored form other than little-endian float32 in C order is worth a note.
        let converted = !["float32", "gray_2d"].contains(name)
        #expect(notes.count == (converted ? 1 : 0), "\(notes)")
        if name == "float64" { #expect(notes.first?.hasSuffix("float64 values read as float32") == true) }
        if name == "fortran" { #expect(notes.first?.hasSuffix("Fortran order read as C order") == true) }
    }

    /// Every header made wrong on purpose is refused with its reason; NumPy itself reads three
    /// of them (a repeated key, where it keeps the last; structured and complex types), which
    /// have no float32 reading that could not mislead.
    @Test(arguments: [
        ("bad_shape_overflow", "the shape entry 99999999999999999999 is too large"),
        ("bad_shape_word", "not a non-negative integer"),
        ("bad_shape_not_tuple", "is an integer, not a tuple"),
        ("bad_duplicate_descr", "the key 'descr' appears twice"),
        ("bad_extra_key", "unexpected key 'x'"),
        ("bad_missing_shape", "no 'shape'"),
        ("bad_structured", "the value of 'descr' at character"),
        ("bad_complex", "the dtype '<c8' is not a number type"),
        ("bad_object", "the dtype '|O' is not a number type"),
        ("bad_trailing_text", "text after the header dictionary"),
        ("bad_unterminated", "the header ends inside the shape"),
    ])
    func refusesMalformedHeaders(name: String, reason: String) {
        do {
            let tensor = try NumPyFile.read(path: Fixtures.path("npy/\(name).npy"))
            Issue.record("\(name) read as \(tensor.shape)")
        } catch {
            #expect(error.description.contains("header is malformed") || error.description.contains("dtype"), "\(error)")
            #expect(error.description.contains(reason), "\(error)")
        }
    }

    @Test func refusesMoreValuesThanTheLimitBeforeAllocating() {
        #expect(throws: NumPyError.tooLarge(path: Fixtures.path("npy/float64.npy"), bytes: 96, limit: 95)) {
            try NumPyFile.read(path: Fixtures.path("npy/float64.npy"), maximumBytes: 95)
        }
    }

    @Test func refusesDirectoriesWithoutBlocking() throws {
        #expect(throws: NumPyError.unreadable(path: scratch.url.path, reason: "it is a directory")) { try NumPyFile.read(path: scratch.url.path) }
        let fifo = scratch.path("pipe.npy")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: NumPyError.unreadable(path: fifo, reason: InputFileProblem.notRegular.description)) { try NumPyFile.read(path: fifo) }
    }

    @Test func refusesTruncatedAndForeignFiles() throws {
        let whole = NumPyFile.encode(Tensor(shape: [4, 4], values: .init(repeating: 1, count: 16)))
        #expect(throws: NumPyError.self) { try NumPyFile.decode(Array(whole.dropLast(5)), path: "t.npy") }
        #expect(throws: NumPyError.notNumPy(path: "t.npy")) { try NumPyFile.decode(Array("PK\u{3}\u{4} zip".utf8), path: "t.npy") }
        #expect(throws: NumPyError.self) { try NumPyFile.read(path: scratch.path("missing.npy")) }
        let huge = header("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", data: [])
        #expect(throws: NumPyError.self) { try NumPyFile.decode(huge, path: "huge.npy") }
    }

    @Test func refusesToWriteIntoAMissingFolder() {
        #expect(throws: NumPyError.self) { try NumPyFile.write(Tensor(shape: [1], values: [1]), to: scratch.path("no/such/folder/out.npy")) }
        #expect(!FileManager.default.fileExists(atPath: scratch.path("no")))
    }
}
