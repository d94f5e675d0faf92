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

    @Test(arguments: [
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", "dtype"),
        ("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", "dtype"),
        ("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", "Fortran"),
    ])
    func refusesOtherDataTypesAndOrders(dictionary: String, fragment: String) {
        #expect(throws: NumPyError.self) { try NumPyFile.decode(header(dictionary, data: [0, 0, 0, 0, 0, 0, 0, 0]), path: "x.npy") }
        do { _ = try NumPyFile.decode(header(dictionary, data: [0, 0, 0, 0, 0, 0, 0, 0]), path: "x.npy") } catch {
            #expect(error.description.contains(fragment))
        }
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
