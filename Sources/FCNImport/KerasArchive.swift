import FCNDiagnostics
import FCNModel
import Foundation
import HDF5Reader
import ZIPFoundation

/// A Keras 3 `.keras` file: a zip holding `config.json` (the model config), `model.weights.h5`
/// (the weights, in the saveable-tree layout of `.weights.h5`) and `metadata.json`.
///
/// Every member's declared size is checked against a limit before it is read, and reading
/// stops at the declared size, so a member that lies about its size (a zip bomb) cannot make
/// `fcn` inflate more than the limits allow.
struct KerasArchive {
    /// The most members a `.keras` may hold.
    static let maximumMembers = 64
    /// The largest `config.json` and `metadata.json` FCNKit reads.
    static let maximumConfigBytes: UInt64 = 64 << 20
    /// The largest `model.weights.h5` FCNKit reads into memory.
    static let maximumWeightsBytes: UInt64 = 4 << 30

    let path: String
    /// `config.json`'s text.
    let config: String
    /// The Keras version `metadata.json` records, if any.
    let kerasVersion: String?
    private let archive: Archive

    /// True when the file at `path` starts like a zip.
    static func isZip(_ path: String) -> Bool {
        // Opening a FIFO would block; anything but a regular file goes on to H5File, which names it.
        guard (try? FileManager.default.attributesOfItem(atPath: path)[.type]) as? FileAttributeType == .typeRegular,
              let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)) == Data([0x50, 0x4B, 0x03, 0x04])
    }

    init(path: String) throws(ImportError) {
        self.path = path
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw .noModel(path: path, reason: "it starts like a zip but is not a readable one (\(error))")
        }
        let entries = Array(archive.prefix(Self.maximumMembers + 1))
        guard entries.count <= Self.maximumMembers else {
            throw .noModel(path: path, reason: "the archive has more than \(Self.maximumMembers) members; a .keras file has three")
        }
        guard let configEntry = archive["config.json"] else {
            throw .noModel(path: path, reason: "the archive has no config.json (it has: \(entries.map { QuotedName.quoted($0.path).description }.joined(separator: ", ")))")
        }
        config = String(decoding: try Self.read(configEntry, limit: Self.maximumConfigBytes, from: archive, path: path), as: UTF8.self)
        let metadata = try archive["metadata.json"].map { entry throws(ImportError) in
            try Self.read(entry, limit: Self.maximumConfigBytes, from: archive, path: path)
        }
        kerasVersion = metadata.flatMap { try? ConfigValue.parseJSON(String(decoding: $0, as: UTF8.self)) }?["keras_version"]?.string
        self.archive = archive
    }

    /// `model.weights.h5`, opened from memory.
    func weights() throws(ImportError) -> H5File {
        guard let entry = archive["model.weights.h5"] else {
            throw .noModel(path: path, reason: "the archive has no model.weights.h5, so it holds no weights")
        }
        let bytes = try Self.read(entry, limit: Self.maximumWeightsBytes, from: archive, path: path)
        do {
            return try H5File(image: bytes, name: path + ":model.weights.h5")
        } catch {
            throw .noModel(path: path, reason: "the archive's model.weights.h5 is damaged: \(error)")
        }
    }

    /// A member's bytes, refusing one whose declared size is over `limit` or whose data runs past it.
    private static func read(_ entry: Entry, limit: UInt64, from archive: Archive, path: String) throws(ImportError) -> [UInt8] {
        let declared = entry.uncompressedSize
        guard declared <= limit else {
            throw .noModel(path: path, reason: "member \(QuotedName.quoted(entry.path)) declares \(declared) bytes, too large: "
                + "FCNKit reads at most \(limit) bytes of it")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(declared))
        do {
            _ = try archive.extract(entry) { chunk in
                guard UInt64(bytes.count + chunk.count) <= declared else { throw ArchiveOverrun() }
                bytes += chunk
            }
        } catch is ArchiveOverrun {
            throw .noModel(path: path, reason: "member \(QuotedName.quoted(entry.path)) expands past the \(declared) bytes it declares, too large")
        } catch {
            throw .noModel(path: path, reason: "member \(QuotedName.quoted(entry.path)) is damaged (\(error))")
        }
        guard UInt64(bytes.count) == declared else {
            throw .noModel(path: path, reason: "member \(QuotedName.quoted(entry.path)) holds \(bytes.count) of the \(declared) bytes it declares")
        }
        return bytes
    }

    private struct ArchiveOverrun: Error {}
}
