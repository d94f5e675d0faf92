import FCNModel

/// The Keras generation whose vocabulary a config uses.
enum KerasGeneration: String {
    /// Keras 1: `Convolution2D`, `nb_filter`, `border_mode`, `dim_ordering`.
    case keras1 = "Keras 1"
    /// Keras 2 and tf.keras: `Conv2D`, `filters`, `padding`, `data_format`.
    case keras2 = "Keras 2"
    /// Keras 3: layer entries carry `module` and `registered_name`; inputs have `batch_shape`.
    case keras3 = "Keras 3"
}

/// One layer of a Keras model config, placed in the chain, with what is needed to find its
/// weights.
struct KerasLayerConfig {
    let name: String
    let className: String
    let config: ConfigValue
    /// The names of the nested models that contain the layer, outermost first.
    let containers: [String]
    /// Where Keras 3's `.weights.h5` keeps the layer, such as `layers/sequential/layers/conv2d_1`.
    let weightsPath: String
}

/// A Keras model config, nested models expanded, as one chain of layers.
struct KerasArchitecture {
    let modelName: String
    let generation: KerasGeneration
    /// The declared input shape without the batch axis, in the model's data format; nil for
    /// a size left open (`None`), as fully convolutional models declare their height and width.
    let inputDimensions: [Int?]
    /// Every layer but the inputs, in the order data flows through them.
    let layers: [KerasLayerConfig]

    /// The model's data format: the first one a layer states, else channels_last.
    var dataFormat: DataFormat {
        layers.lazy.compactMap { KerasShapes.dataFormat(of: $0.config) }.first ?? .channelsLast
    }

    static let containerClasses: Set<String> = ["Sequential", "Model", "Functional"]

    /// Reads the JSON text of a Keras `model_config` or `to_json()` file at `path`.
    init(json text: String, path: String) throws(ImportError) {
        let value: ConfigValue
        do { value = try ConfigValue.parseJSON(text) } catch {
            throw .unreadableArchitecture(path: path, reason: "not valid JSON")
        }
        try self.init(modelConfig: value, path: path)
    }

    /// Reads a `{"class_name": …, "config": …}` model description found in `path`.
    init(modelConfig root: ConfigValue, path: String) throws(ImportError) {
        guard let className = root["class_name"]?.string, Self.containerClasses.contains(className),
              let config = root["config"]
        else {
            throw .unreadableArchitecture(path: path, reason: "it is not a Keras Sequential or functional model config")
        }
        modelName = config["name"]?.string ?? className.lowercased()
        let chain = try Self.expand(className: className, config: config, name: modelName, containers: [], weightsPath: "", path: path)
        generation = Self.generation(of: chain)
        guard let dimensions = Self.inputDimensions(chain: chain, modelConfig: config) else {
            throw .unreadableArchitecture(path: path, reason: "it declares no input shape (no InputLayer, batch_input_shape or batch_shape)")
        }
        inputDimensions = dimensions
        layers = chain.filter { $0.className != "InputLayer" }
    }

    // MARK: - Expanding containers

    /// The layers of a Sequential or functional container, in data-flow order, nested
    /// containers expanded in place.
    private static func expand(
        className: String, config: ConfigValue, name: String, containers: [String], weightsPath: String, path: String
    ) throws(ImportError) -> [KerasLayerConfig] {
        let entries = (config.array ?? config["layers"]?.array) ?? []
        let ordered = className == "Sequential" ? entries : try chainOrder(entries)
        var result: [KerasLayerConfig] = []
        var usedNames: [String: Int] = [:]
        for entry in ordered {
            guard let entryClass = entry["class_name"]?.string else {
                throw .unreadableArchitecture(path: path, reason: "a layer entry in '\(name)' has no class_name")
            }
            let entryConfig = entry["config"] ?? .object([:])
            let entryName = entry["name"]?.string ?? entryConfig["name"]?.string ?? entryClass.lowercased()
            // Keras 3 saves Sequential layers without their InputLayer, functional ones with it,
            // each under its class name in snake case, numbered on repeats.
            var entryWeightsPath = weightsPath
            if !(className == "Sequential" && entryClass == "InputLayer") {
                let base = snakeCase(entryClass)
                let count = usedNames[base, default: -1] + 1
                usedNames[base] = count
                entryWeightsPath += (weightsPath.isEmpty ? "" : "/") + "layers/" + (count == 0 ? base : "\(base)_\(count)")
            }
            if containerClasses.contains(entryClass) {
                let inner = try expand(className: entryClass, config: entryConfig, name: entryName,
                                       containers: containers + [entryName], weightsPath: entryWeightsPath, path: path)
                // An inner model's input layer only restates the shape; keep it at the very start.
                result += result.isEmpty ? inner : inner.filter { $0.className != "InputLayer" }
            } else {
                result.append(KerasLayerConfig(name: entryName, className: entryClass, config: entryConfig,
                                               containers: containers, weightsPath: entryWeightsPath))
            }
        }
        return result
    }

    /// Orders a functional model's layers into a chain from its input, or says where the
    /// graph branches or merges.
    private static func chainOrder(_ entries: [ConfigValue]) throws(ImportError) -> [ConfigValue] {
        var byName: [String: ConfigValue] = [:]
        var inbound: [String: [String]] = [:]
        var names: [String] = []
        for entry in entries {
            let name = entry["name"]?.string ?? entry["config"]?["name"]?.string ?? ""
            let className = entry["class_name"]?.string ?? "?"
            names.append(name)
            byName[name] = entry
            let sources = inboundNames(entry["inbound_nodes"] ?? .array([]))
            if Set(sources).count > 1 {
                throw .notAChain(layer: name, reason: "(\(className)) merges \(Set(sources).count) branches (\(sources.joined(separator: ", ")))")
            }
            if (entry["inbound_nodes"]?.array?.count ?? 0) > 1 {
                throw .notAChain(layer: name, reason: "(\(className)) is applied more than once (a shared layer)")
            }
            inbound[name] = sources
        }
        let roots = names.filter { inbound[$0]?.isEmpty ?? true }
        guard roots.count == 1, let first = roots.first else {
            throw .notAChain(layer: roots.dropFirst().first ?? names.first ?? "?", reason: "is one of \(roots.count) inputs")
        }
        var ordered = [byName[first]!]
        var current = first
        while true {
            let consumers = names.filter { inbound[$0]?.first == current }
            if consumers.isEmpty { break }
            guard consumers.count == 1 else {
                throw .notAChain(layer: current, reason: "feeds \(consumers.count) layers (\(consumers.joined(separator: ", ")))")
            }
            current = consumers[0]
            ordered.append(byName[current]!)
        }
        if ordered.count != entries.count {
            let unreached = names.filter { name in !ordered.contains { ($0["name"]?.string ?? $0["config"]?["name"]?.string) == name } }
            throw .notAChain(layer: unreached.first ?? "?", reason: "is not on the path from the input to the output")
        }
        return ordered
    }

    /// The names of the layers feeding a layer, from any generation's `inbound_nodes`:
    /// Keras 1/2 `[[["name", 0, 0, {…}]]]` or Keras 3 `[{"args": [{"config": {"keras_history": ["name", 0, 0]}}]}]`.
    private static func inboundNames(_ nodes: ConfigValue) -> [String] {
        var names: [String] = []
        func visit(_ value: ConfigValue) {
            switch value {
            case .object(let members):
                if let history = members["keras_history"]?.array, let name = history.first?.string {
                    names.append(name)
                } else {
                    members.values.forEach(visit)
                }
            case .array(let items):
                if items.count >= 3, let name = items[0].string, items[1].int != nil {
                    names.append(name)
                } else {
                    items.forEach(visit)
                }
            default:
                break
            }
        }
        visit(nodes)
        return names
    }

    // MARK: - Facts about the whole config

    private static func generation(of layers: [KerasLayerConfig]) -> KerasGeneration {
        let keras1Keys = ["nb_filter", "output_dim", "border_mode", "dim_ordering", "subsample"]
        if layers.contains(where: { layer in keras1Keys.contains { layer.config[$0] != nil } || layer.className == "Convolution2D" }) {
            return .keras1
        }
        if layers.contains(where: { $0.config["batch_shape"] != nil || $0.config["dtype"]?["class_name"] != nil }) {
            return .keras3
        }
        return .keras2
    }

    private static func inputDimensions(chain: [KerasLayerConfig], modelConfig: ConfigValue) -> [Int?]? {
        for layer in chain.prefix(2) {
            for key in ["batch_shape", "batch_input_shape"] {
                if let shape = layer.config[key]?.array { return shape.dropFirst().map(\.int) }
            }
            if let shape = layer.config["input_shape"]?.array { return shape.map(\.int) }
            if let inputs = layer.config["input_dim"]?.int { return [inputs] }
        }
        if let shape = modelConfig["build_input_shape"]?.array { return shape.dropFirst().map(\.int) }
        return nil
    }

    /// Keras's `to_snake_case`: `MaxPooling2D` → `max_pooling2d`.
    static func snakeCase(_ name: String) -> String {
        let letters = Array(name.filter { $0.isLetter || $0.isNumber || $0 == "_" })
        var result = ""
        for (index, character) in letters.enumerated() {
            let previous = index > 0 ? letters[index - 1] : nil
            let next = index + 1 < letters.count ? letters[index + 1] : nil
            if character.isUppercase, let previous {
                // Before an uppercase letter that starts a word (followed by lowercase), or that
                // follows a lowercase letter.
                let startsWord = next?.isLowercase == true
                if previous.isLowercase || (startsWord && previous != "_") { result += "_" }
            }
            result.append(character)
        }
        return result.lowercased()
    }
}
