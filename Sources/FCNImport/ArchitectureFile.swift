import FCNDiagnostics
import FCNModel
import Foundation
import HDF5Reader

/// An architecture read from a model file or a sidecar: Keras or Caffe.
enum ArchitectureFile {
    case keras(KerasArchitecture, path: String?, recorded: RecordedVersions)
    case caffe(CaffeNet, path: String)

    /// The Keras version and backend a file records, when it does, and the classifier input
    /// size `fcn convert` records in the files it writes.
    struct RecordedVersions {
        var kerasVersion: String?
        var backend: String?
        var inputSize: Size2D?
        /// What an FCNKit-written file records: its making and the class names.
        var conversion: ModelSource.Conversion? = nil
        var classNames: [String]? = nil
    }

    private static let architectureExtensions: Set<String> = ["json", "yaml", "yml", "prototxt", "pbtxt"]

    /// True for files that can only hold an architecture (by extension).
    static func isArchitectureOnly(_ path: String) -> Bool {
        architectureExtensions.contains(URL(fileURLWithPath: path).pathExtension.lowercased())
    }

    /// Reads an architecture from a Keras `.json`/`.yaml`, a Caffe `.prototxt`, or the
    /// `model_config` of a Keras full-model `.h5`.
    static func read(path: String) throws(ImportError) -> ArchitectureFile {
        let fileExtension = URL(fileURLWithPath: path).pathExtension.lowercased()
        guard architectureExtensions.contains(fileExtension) else {
            return try fromFullModel(path: path)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: path)
        else {
            throw .unreadableArchitecture(path: path, reason: "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .unreadableArchitecture(path: path, reason: "not UTF-8 text")
        }
        switch fileExtension {
        case "prototxt", "pbtxt":
            do {
                return .caffe(try CaffeNet(prototxt: try Prototxt.parse(text), path: path), path: path)
            } catch let error as Prototxt.SyntaxError {
                throw .unreadableArchitecture(path: path, reason: "not valid prototxt: \(error)")
            } catch let error as ImportError {
                throw error
            } catch {
                throw .unreadableArchitecture(path: path, reason: "\(error)")
            }
        case "json":
            let value: ConfigValue
            do { value = try ConfigValue.parseJSON(text) } catch {
                throw .unreadableArchitecture(path: path, reason: "not valid JSON")
            }
            return try keras(value, path: path)
        default:
            let value: ConfigValue
            do { value = try ConfigValue.parseYAML(text) } catch {
                throw .unreadableArchitecture(path: path, reason: "not valid YAML")
            }
            return try keras(value, path: path)
        }
    }

    private static func keras(_ value: ConfigValue, path: String) throws(ImportError) -> ArchitectureFile {
        let recorded = RecordedVersions(kerasVersion: value["keras_version"]?.string, backend: value["backend"]?.string)
        return .keras(try KerasArchitecture(modelConfig: value, path: path), path: path, recorded: recorded)
    }

    private static func fromFullModel(path: String) throws(ImportError) -> ArchitectureFile {
        do {
            let root = try H5File(path: path).root()
            guard let config = try root.stringAttribute("model_config") else {
                throw ImportError.unreadableArchitecture(path: path, reason: "the file has no model_config attribute")
            }
            return .keras(try KerasArchitecture(json: config, path: path), path: path, recorded: try RecordedVersions(root: root))
        } catch let error as HDF5Error {
            throw .hdf5(error)
        } catch let error as ImportError {
            throw error
        } catch {
            throw .unreadableArchitecture(path: path, reason: "\(error)")
        }
    }

    /// Builds the model, reading weights from `stored` when given.
    func model(weights stored: (root: H5Group, layout: StoredLayout)?, options: ImportOptions) throws(ImportError) -> Model {
        switch self {
        case .caffe(let net, let path):
            var weights: [String: LayerWeights]?
            var source = ModelSource(format: "Caffe deploy net (.prototxt)", path: path)
            if let stored {
                guard case .caffeSnapshot = stored.layout else {
                    throw .noModel(path: stored.root.file.path, reason: "a Caffe .prototxt goes with a Caffe .caffemodel.h5, not a \(stored.layout.kindName) file")
                }
                weights = try net.weights(from: stored.root)
                source = ModelSource(format: "Caffe snapshot (.caffemodel.h5) + .prototxt", path: stored.root.file.path, architecturePath: path)
            }
            return Model(network: net.network, weights: weights, source: source)

        case .keras(let architecture, let architecturePath, let recordedInSidecar):
            var recorded = recordedInSidecar
            if let root = stored?.root {
                let inFile = try RecordedVersions(root: root)
                recorded = RecordedVersions(kerasVersion: inFile.kerasVersion ?? recorded.kerasVersion,
                                            backend: inFile.backend ?? recorded.backend, inputSize: inFile.inputSize,
                                            conversion: inFile.conversion, classNames: inFile.classNames)
            }
            let flip: Bool
            switch options.kernelFlip {
            case .flip: flip = true
            case .keep: flip = false
            case .auto:
                flip = architecture.generation == .keras1
                    && (recorded.backend == "theano" || (recorded.backend == nil && architecture.dataFormat == .channelsFirst))
            }
            let builder = KerasModelBuilder(architecture: architecture, flipKernels: flip)
            let network = try builder.network(recordedInput: recorded.inputSize)
            let version = recorded.kerasVersion.map { "Keras \($0)" } ?? architecture.generation.rawValue
            guard let stored else {
                let source = ModelSource(format: "\(version) architecture", path: architecturePath ?? "",
                                         kerasVersion: recorded.kerasVersion, backend: recorded.backend)
                return Model(network: network, weights: nil, source: source)
            }
            let weightSource: KerasWeightSource
            let path = stored.root.file.path
            switch stored.layout {
            case .kerasFullModel:
                let group: H5Group
                do { group = try stored.root.groupIfPresent("model_weights") ?? stored.root }
                catch { throw .hdf5(error) }
                weightSource = try LayerGroupWeights(root: group)
            case .kerasLayerGroups:
                weightSource = try LayerGroupWeights(root: stored.root)
            case .kerasSaveableTree:
                weightSource = SaveableTreeWeights(root: stored.root)
            case .caffeSnapshot:
                throw .noModel(path: path, reason: "a Caffe snapshot needs its .prototxt as --arch, not a Keras architecture")
            }
            let weights = try builder.weights(of: network, from: weightSource)
            let sidecar = architecturePath.map { " + " + URL(fileURLWithPath: $0).pathExtension.uppercased() + " architecture" } ?? ""
            let format = recorded.conversion.map { "FCNKit \($0.fcnkitVersion) fully convolutional file (Keras .h5), converted from \($0.source)" }
                ?? "\(version) \(stored.layout.description)\(sidecar)"
            let source = ModelSource(
                format: format, path: path, architecturePath: architecturePath, kerasVersion: recorded.kerasVersion,
                backend: recorded.backend, kernelsFlipped: flip, classNames: recorded.classNames, conversion: recorded.conversion)
            return Model(network: network, weights: weights, source: source)
        }
    }
}

extension ArchitectureFile.RecordedVersions {
    /// The most class names a file may record, and the longest name.
    static let classNameLimits = (count: 100_000, length: 200)

    /// The names in `fcnkit_class_names`: a JSON array of strings within `classNameLimits`.
    static func classNames(_ text: String?, path: String) throws(ImportError) -> [String]? {
        guard let text else { return nil }
        guard text.utf8.count <= classNameLimits.count * (classNameLimits.length + 4),
              let names = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String],
              names.count <= classNameLimits.count, names.allSatisfy({ $0.count <= classNameLimits.length })
        else {
            throw .unreadableArchitecture(path: path, reason: "fcnkit_class_names is not a list of at most \(classNameLimits.count) names of at most \(classNameLimits.length) characters")
        }
        return names
    }

    /// The `keras_version` and `backend` attributes at the root of a Keras file.
    init(root: H5Group) throws(ImportError) {
        let fcnkitVersion: String?, fcnkitSource: String?, classNamesText: String?
        do {
            kerasVersion = try root.stringAttribute("keras_version")
            backend = try root.stringAttribute("backend")
            inputSize = try root.stringAttribute("fcnkit_input_size").flatMap(Size2D.init(text:))
            fcnkitVersion = try root.stringAttribute("fcnkit_version")
            fcnkitSource = try root.stringAttribute("fcnkit_source")
            classNamesText = try root.stringAttribute("fcnkit_class_names")
        } catch {
            throw .hdf5(error)
        }
        conversion = fcnkitVersion.map {
            ModelSource.Conversion(fcnkitVersion: QuotedName.escaped($0), source: QuotedName.escaped(fcnkitSource ?? "an unrecorded source"))
        }
        classNames = try Self.classNames(classNamesText, path: root.file.path)
        if let inputSize {
            try KerasShapes.checkSize(inputSize.height, what: "the recorded input height (fcnkit_input_size)")
            try KerasShapes.checkSize(inputSize.width, what: "the recorded input width (fcnkit_input_size)")
        }
    }
}
