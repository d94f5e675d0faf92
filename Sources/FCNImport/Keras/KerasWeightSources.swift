import FCNDiagnostics
import Foundation
import HDF5Reader

/// Finds the stored weight datasets of a Keras layer, in the order Keras saved them.
protocol KerasWeightSource {
    /// The layer's datasets in saving order (kernel before bias; gamma, beta, mean, variance).
    func datasets(for layer: KerasLayerConfig) throws(ImportError) -> [H5Dataset]
}

/// Keras 1, Keras 2, tf.keras and Keras 3 legacy `.h5`: one group per top-level layer, listed
/// in `layer_names`, each with a `weight_names` attribute naming its datasets. A nested
/// model's group holds the weights of all its layers, named `<inner layer>/<weight>`.
struct LayerGroupWeights: KerasWeightSource {
    /// The group holding the layer groups: `/` for weights-only files, `/model_weights` for full models.
    let root: H5Group
    let layerNames: Set<String>

    init(root: H5Group) throws(ImportError) {
        self.root = root
        do {
            layerNames = Set(try root.stringListAttribute("layer_names") ?? [])
        } catch {
            throw .hdf5(error)
        }
    }

    func datasets(for layer: KerasLayerConfig) throws(ImportError) -> [H5Dataset] {
        let groupName = layer.containers.first ?? layer.name
        guard layerNames.contains(groupName) else {
            throw .missingWeights(layer: layer.name, path: root.file.path,
                                  reason: "the file has no layer group \(QuotedName.quoted(groupName)) (it has: \(layerNames.sorted().map { QuotedName.quoted($0) }.joined(separator: ", ")))")
        }
        do {
            let group = try root.group(groupName)
            var names = try group.stringListAttribute("weight_names") ?? []
            if !layer.containers.isEmpty {
                // Inside a nested model: keep the weights whose path names this layer.
                names = names.filter { $0.split(separator: "/").dropLast().contains { $0 == layer.name } }
            }
            return try names.map { name throws(HDF5Error) in try group.dataset(name) }
        } catch {
            throw .hdf5(error)
        }
    }
}

/// Keras 3 `.weights.h5`: `layers/<class name in snake case, numbered>/vars/0…n`. The file
/// keeps no layer order or names of its own, so the architecture supplies both.
///
/// Keras 3 releases before separators were normalised joined these paths with `os.path.join`,
/// so on Windows each layer's group is one root member named with backslashes
/// (`layers\\sequential\\layers\\conv2d/vars/0`); such files are read the same way.
struct SaveableTreeWeights: KerasWeightSource {
    /// How the root's members start in a file written on Windows.
    static let windowsLayersPrefix = "layers\\"

    let root: H5Group
    /// True when layer paths are single root members joined by backslashes.
    let windowsSeparators: Bool

    init(root: H5Group) {
        self.root = root
        windowsSeparators = root.memberKind("layers") != .group
    }

    func datasets(for layer: KerasLayerConfig) throws(ImportError) -> [H5Dataset] {
        let path = windowsSeparators ? layer.weightsPath.replacingOccurrences(of: "/", with: "\\") : layer.weightsPath
        guard let variables = try ImportError.readingHDF5({ () throws(HDF5Error) in try root.groupIfPresent(path + "/vars") })
        else {
            guard root.memberKind(path) != nil else {
                throw .missingWeights(
                    layer: layer.name, path: root.file.path,
                    reason: "the file has no group \(QuotedName.quoted(path)); is the architecture the one these weights were saved from?")
            }
            return []
        }
        do {
            let indices = try variables.memberNames().compactMap(Int.init).sorted()
            return try indices.map { index throws(HDF5Error) in try variables.dataset(String(index)) }
        } catch {
            throw .hdf5(error)
        }
    }
}
