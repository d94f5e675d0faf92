import FCNDiagnostics
import FCNModel
import Foundation
import HDF5Reader

/// Whether to flip convolution kernels stored by Theano (true convolution) back to
/// cross-correlation.
public enum KernelFlip: String, Sendable, CaseIterable {
    /// Flip Keras 1 files that were saved with the Theano backend, or with `th` ordering and
    /// no backend recorded (Keras 1's default pairing).
    case auto
    /// Always flip.
    case flip
    /// Never flip.
    case keep
}

/// How to read a model file.
public struct ImportOptions: Sendable {
    /// An architecture file for weights-only files: Keras `.json`/`.yaml`, a full-model `.h5`,
    /// or a Caffe `.prototxt`.
    public var architecturePath: String?
    public var kernelFlip: KernelFlip

    public init(architecturePath: String? = nil, kernelFlip: KernelFlip = .auto) {
        self.architecturePath = architecturePath
        self.kernelFlip = kernelFlip
    }
}

/// Reads classifier files of every supported kind into one `Model`.
///
/// Recognised by content: Keras full-model `.h5` (Keras 1, 2, tf.keras, Keras 3 legacy),
/// Keras weights-only `.h5` (`layer_names` at the root), Keras 3 `.weights.h5` (`layers/…/vars`),
/// and Caffe `.caffemodel.h5` (`/data/<layer>/<i>`). Architecture files (`.json`, `.yaml`,
/// `.prototxt`) load on their own as models without weights, for inspection.
public enum ModelImporter {
    /// Reads the model at `path`.
    ///
    /// - Throws: `ImportError` saying what is wrong with which file or layer.
    public static func load(path: String, options: ImportOptions = ImportOptions()) throws(ImportError) -> Model {
        if ArchitectureFile.isArchitectureOnly(path) {
            if options.architecturePath != nil {
                throw .noModel(path: path, reason: "an architecture file holds no weights to pair with --arch; pass the weights file instead")
            }
            return try ArchitectureFile.read(path: path).model(weights: nil, options: options)
        }
        if KerasArchive.isZip(path) { return try loadArchive(path: path, options: options) }
        let file: H5File
        let root: H5Group
        do {
            file = try H5File(path: path)
            root = try file.root()
        } catch {
            throw .hdf5(error)
        }
        let layout = try StoredLayout(root: root)
        let architecture: ArchitectureFile
        if case .kerasFullModel(let config) = layout, options.architecturePath == nil {
            architecture = .keras(try KerasArchitecture(json: config, path: path), path: nil, recorded: .init())
        } else if let architecturePath = options.architecturePath {
            architecture = try ArchitectureFile.read(path: architecturePath)
        } else {
            throw .architectureRequired(path: path, format: layout.kindName)
        }
        return try architecture.model(weights: (root, layout), options: options)
    }
}

extension ModelImporter {
    /// A Keras 3 `.keras` zip: its config, and the weights of its `model.weights.h5`.
    static func loadArchive(path: String, options: ImportOptions) throws(ImportError) -> Model {
        if options.architecturePath != nil {
            throw .noModel(path: path, reason: "a .keras file holds its own architecture; leave out --arch")
        }
        let archive = try KerasArchive(path: path)
        let architecture = ArchitectureFile.keras(try KerasArchitecture(json: archive.config, path: path + ":config.json"), path: nil,
                                                  recorded: .init(kerasVersion: archive.kerasVersion, backend: "tensorflow"))
        let root: H5Group
        do { root = try archive.weights().root() } catch let error as ImportError { throw error } catch {
            throw .noModel(path: path, reason: "the archive's model.weights.h5 is damaged: \(error)")
        }
        var model = try architecture.model(weights: (root, .kerasSaveableTree), options: options)
        model.source.format = "Keras \(archive.kerasVersion ?? "3") model (.keras)"
        model.source.path = path
        return model
    }
}

/// What kind of model storage an HDF5 file holds, recognised from its groups and attributes.
enum StoredLayout: CustomStringConvertible {
    /// A Keras full model: `model_config` at the root, weights under `model_weights`.
    case kerasFullModel(config: String)
    /// Keras 1/2/tf.keras weights-only: `layer_names` at the root.
    case kerasLayerGroups
    /// Keras 3 `.weights.h5`: a `layers` group of variable groups (or, as Keras 3 wrote it on
    /// Windows, root groups named `layers\\…`).
    case kerasSaveableTree
    /// A Caffe HDF5 snapshot: a `data` group with one group per layer.
    case caffeSnapshot

    init(root: H5Group) throws(ImportError) {
        let members: [String]
        do {
            if let config = try root.stringAttribute("model_config") {
                self = .kerasFullModel(config: config)
                return
            }
            if try root.stringListAttribute("layer_names") != nil {
                self = .kerasLayerGroups
                return
            }
            if root.memberKind("layers") == .group {
                self = .kerasSaveableTree
                return
            }
            if root.memberKind("data") == .group {
                self = .caffeSnapshot
                return
            }
            members = try root.memberNames()
            if members.contains(where: { $0.hasPrefix(SaveableTreeWeights.windowsLayersPrefix) }) {
                self = .kerasSaveableTree
                return
            }
        } catch {
            throw .hdf5(error)
        }
        throw .noModel(
            path: root.file.path,
            reason: "it holds \(members.isEmpty ? "nothing" : members.prefix(8).map { QuotedName.quoted($0) }.joined(separator: ", ")); "
                + "expected Keras weights (model_config or layer_names at the root, or a layers group) "
                + "or a Caffe snapshot (a data group)")
    }

    /// The kind of file, for messages: "Keras weights-only", "Caffe snapshot", …
    var kindName: String {
        switch self {
        case .kerasFullModel: return "Keras full-model"
        case .kerasLayerGroups: return "Keras weights-only"
        case .kerasSaveableTree: return "Keras 3 .weights.h5"
        case .caffeSnapshot: return "Caffe snapshot (.caffemodel.h5)"
        }
    }

    var description: String {
        switch self {
        case .kerasFullModel: return "full model (.h5)"
        case .kerasLayerGroups: return "weights-only (.h5)"
        case .kerasSaveableTree: return ".weights.h5"
        case .caffeSnapshot: return "Caffe snapshot (.caffemodel.h5)"
        }
    }
}

/// One stored array of a weights file.
public struct StoredWeight: Sendable {
    /// Its HDF5 path, such as `/conv1/conv1/kernel:0`.
    public let path: String
    public let shape: [Int]
}

extension ModelImporter {
    /// The most arrays `storedWeights` lists.
    public static let maximumListedWeights = 10_000

    /// Every dataset of the HDF5 file at `path` with its shape, group by group, for a weights-only
    /// file that came without its architecture: what `fcn inspect` can still show.
    public static func storedWeights(path: String) throws(ImportError) -> [StoredWeight] {
        var found: [StoredWeight] = []
        func walk(_ group: H5Group, _ prefix: String) throws(HDF5Error) {
            for name in try group.memberNames() {
                guard found.count < maximumListedWeights else { return }
                let child = prefix == "/" ? "/" + name : prefix + "/" + name
                switch group.memberKind(name) {
                case .group?: try walk(try group.group(name), child)
                case .dataset?: found.append(StoredWeight(path: child, shape: try group.dataset(name).shape))
                case .other?, nil: continue
                }
            }
        }
        do { try walk(try H5File(path: path).root(), "/") } catch { throw .hdf5(error) }
        return found
    }
}
