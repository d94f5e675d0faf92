import FCNDiagnostics
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

/// One layer of a Keras model config, placed in the graph, with what is needed to find its
/// weights.
struct KerasLayerConfig {
    let name: String
    let className: String
    let config: ConfigValue
    /// The layers it reads, by name (`KerasArchitecture.inputName` for the model's input),
    /// nested models resolved to the layers inside them.
    let inbound: [String]
    /// The names of the nested models that contain the layer, outermost first.
    let containers: [String]
    /// Where Keras 3's `.weights.h5` keeps the layer, such as `layers/sequential/layers/conv2d_1`.
    let weightsPath: String
}

/// A Keras model config, nested models expanded, as one graph of layers in topological order.
struct KerasArchitecture {
    let modelName: String
    let generation: KerasGeneration
    /// The declared input shape without the batch axis, in the model's data format; nil for
    /// a size left open (`None`), as fully convolutional models declare their height and width.
    let inputDimensions: [Int?]
    /// Every layer but the inputs, in topological order, the output last.
    let layers: [KerasLayerConfig]
    /// The name of the model's input layer.
    let inputName: String
    /// The file the config came from, for messages.
    let path: String

    /// The model's data format: the first one a layer states, else channels_last.
    var dataFormat: DataFormat {
        layers.lazy.compactMap { KerasShapes.dataFormat(of: $0.config) }.first ?? .channelsLast
    }

    static let containerClasses: Set<String> = ["Sequential", "Model", "Functional"]

    /// Reads the JSON text of a Keras `model_config` or `to_json()` file at `path`.
    init(json text: String, path: String) throws(ImportError) {
        let value: ConfigValue
        do { value = try ConfigValue.parseJSON(text) } catch let error as ConfigValue.JSONDepthError {
            throw .unreadableArchitecture(path: path, reason: error.description)
        } catch {
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
        self.path = path
        var expansion = Expansion(path: path)
        _ = try expansion.expand(className: className, config: config, name: modelName, containers: [], weightsPath: "", feeding: nil)
        let all = expansion.layers
        generation = Self.generation(of: all)
        guard let dimensions = Self.inputDimensions(chain: all, modelConfig: config) else {
            throw .unreadableArchitecture(path: path, reason: "it declares no input shape (no InputLayer, batch_input_shape or batch_shape)")
        }
        inputDimensions = dimensions
        inputName = expansion.inputName ?? "input"
        layers = all.filter { $0.className != "InputLayer" }
    }

    // MARK: - Expanding containers

    /// Expands nested Sequential and functional containers into one graph.
    private struct Expansion {
        let path: String
        private(set) var layers: [KerasLayerConfig] = []
        /// The model's input layer, once seen.
        private(set) var inputName: String?
        /// What a name read by some layer stands for: an inner InputLayer for what feeds its
        /// container, a container for its output layer.
        private var alias: [String: String] = [:]
        private var seen: Set<String> = []

        init(path: String) { self.path = path }

        private func resolve(_ name: String) -> String {
            var name = name
            while let next = alias[name], next != name { name = next }
            return name
        }

        /// Appends the layers of a container fed by `feeding` (nil: the model's input); returns
        /// the name of its output layer.
        mutating func expand(className: String, config: ConfigValue, name: String, containers: [String], weightsPath: String,
                             feeding: String?) throws(ImportError) -> String {
            let entries = (config.array ?? config["layers"]?.array) ?? []
            let isSequential = className == "Sequential"
            let ordered = isSequential ? entries : try Self.topologicalOrder(entries, outputs: config["output_layers"], path: path)
            // Keras 3 numbers repeated class names in its own order of the layers.
            let weightsPaths = Self.saveablePaths(ordered, sequential: isSequential, base: weightsPath)
            var previous = feeding
            for entry in ordered {
                guard let entryClass = entry["class_name"]?.string else {
                    throw .unreadableArchitecture(path: path, reason: "a layer entry in \(QuotedName.quoted(name)) has no class_name")
                }
                let entryConfig = entry["config"] ?? .object([:])
                let entryName = entry["name"]?.string ?? entryConfig["name"]?.string ?? entryClass.lowercased()
                let entryWeightsPath = weightsPaths[entryName] ?? weightsPath
                let inbound = isSequential ? previous.map { [$0] } ?? [] : inboundNames(entry["inbound_nodes"] ?? .array([])).map(resolve)
                if entryClass == "InputLayer" {
                    try KerasArchitecture.checkDeclaredShape(of: entryConfig, layer: entryName, path: path)
                    if let feeding {
                        alias[entryName] = feeding
                    } else if inputName == nil {
                        inputName = entryName
                        try claim(entryName)
                        layers.append(KerasLayerConfig(name: entryName, className: entryClass, config: entryConfig, inbound: [],
                                                       containers: containers, weightsPath: entryWeightsPath))
                    } else {
                        throw .notAChain(layer: entryName, reason: "is a second input; fcn runs models with one input")
                    }
                    previous = resolve(entryName)
                    continue
                }
                // A functional layer names what it reads; one that names nothing is not wired.
                if !isSequential && inbound.isEmpty {
                    throw .unreadableArchitecture(path: path, reason: "layer \(QuotedName.quoted(entryName)) names no layer in its inbound_nodes")
                }
                let reads = inbound.isEmpty ? (previous ?? inputName).map { [$0] } ?? [] : inbound
                if containerClasses.contains(entryClass) {
                    guard reads.count <= 1 else { throw .notAChain(layer: entryName, reason: "(\(entryClass)) takes several inputs") }
                    let output = try expand(className: entryClass, config: entryConfig, name: entryName, containers: containers + [entryName],
                                            weightsPath: entryWeightsPath, feeding: reads.first)
                    alias[entryName] = output
                    previous = output
                } else {
                    if (entry["inbound_nodes"]?.array?.count ?? 0) > 1 {
                        throw .notAChain(layer: entryName, reason: "(\(entryClass)) is applied more than once (a shared layer)")
                    }
                    try claim(entryName)
                    layers.append(KerasLayerConfig(name: entryName, className: entryClass, config: entryConfig, inbound: reads,
                                                   containers: containers, weightsPath: entryWeightsPath))
                    previous = entryName
                }
            }
            if !isSequential, let output = Self.outputNames(config["output_layers"]).first { return resolve(output) }
            return previous ?? feeding ?? inputName ?? name
        }

        /// Where Keras 3's `.weights.h5` keeps each entry of a container: Sequential layers without
        /// their InputLayer, functional ones with it, each under its class name in snake case,
        /// numbered on repeats in the order Keras gives the container's layers.
        static func saveablePaths(_ entries: [ConfigValue], sequential: Bool, base: String) -> [String: String] {
            func name(_ entry: ConfigValue) -> String { entry["name"]?.string ?? entry["config"]?["name"]?.string ?? "" }
            var byName: [String: ConfigValue] = [:]
            for entry in entries { byName[name(entry)] = entry }
            var order = entries.map(name)
            if !sequential, let output = order.last {
                let reads = Dictionary(uniqueKeysWithValues: entries.map { (name($0), inboundNames($0["inbound_nodes"] ?? .array([]))) })
                order = kerasLayerOrder(order, reads: reads, output: output)
            }
            var used: [String: Int] = [:]
            var paths: [String: String] = [:]
            for entryName in order {
                let className = byName[entryName]?["class_name"]?.string ?? ""
                if sequential && className == "InputLayer" { continue }
                let snake = snakeCase(className)
                let count = used[snake, default: -1] + 1
                used[snake] = count
                paths[entryName] = base + (base.isEmpty ? "" : "/") + "layers/" + (count == 0 ? snake : "\(snake)_\(count)")
            }
            return paths
        }

        private mutating func claim(_ name: String) throws(ImportError) {
            guard seen.insert(name).inserted else {
                throw .unreadableArchitecture(path: path, reason: "duplicate layer name \(QuotedName.quoted(name)): layer names must be unique")
            }
        }

        /// A functional container's entries, each after those it reads (Kahn's algorithm), ending
        /// at its output; a cycle or a read of an unknown layer is an error.
        static func topologicalOrder(_ entries: [ConfigValue], outputs: ConfigValue?, path: String) throws(ImportError) -> [ConfigValue] {
            func name(_ entry: ConfigValue) -> String { entry["name"]?.string ?? entry["config"]?["name"]?.string ?? "" }
            var index: [String: Int] = [:]
            var layerNames: Set<String> = []
            for (position, entry) in entries.enumerated() {
                // Keras wires by the entry's name but names the layer (and its weights) by the config's.
                let configName = entry["config"]?["name"]?.string ?? name(entry)
                guard index[name(entry)] == nil, layerNames.insert(configName).inserted else {
                    let duplicate = index[name(entry)] == nil ? configName : name(entry)
                    throw .unreadableArchitecture(path: path, reason: "duplicate layer name \(QuotedName.quoted(duplicate)): layer names must be unique")
                }
                index[name(entry)] = position
            }
            var reads: [[Int]] = []
            for entry in entries {
                var sources: [Int] = []
                for source in inboundNames(entry["inbound_nodes"] ?? .array([])) {
                    guard let producer = index[source] else {
                        throw .unreadableArchitecture(path: path, reason: "layer \(QuotedName.quoted(name(entry))) reads \(QuotedName.quoted(source)), which is no layer of the model")
                    }
                    sources.append(producer)
                }
                reads.append(sources)
            }
            var waiting = reads.map { Set($0).count }
            var readers = [[Int]](repeating: [], count: entries.count)
            for (consumer, sources) in reads.enumerated() { for producer in Set(sources) { readers[producer].append(consumer) } }
            var ready = waiting.indices.filter { waiting[$0] == 0 }
            var order: [Int] = []
            while !ready.isEmpty {
                let next = ready.removeFirst()
                order.append(next)
                for reader in readers[next] {
                    waiting[reader] -= 1
                    if waiting[reader] == 0 { ready.append(reader) }
                }
            }
            guard order.count == entries.count else {
                let stuck = waiting.indices.filter { waiting[$0] > 0 }.map { name(entries[$0]) }
                throw .unreadableArchitecture(path: path, reason: "the layers form a cycle through \(stuck.prefix(6).map { QuotedName.quoted($0).description }.joined(separator: ", "))")
            }
            // The output last: keep only what it reads, in this order.
            guard let output = outputNames(outputs).first, let outputIndex = index[output] else { return order.map { entries[$0] } }
            guard outputNames(outputs).count == 1 else {
                throw .notAChain(layer: output, reason: "is one of \(outputNames(outputs).count) outputs; fcn runs models with one output")
            }
            var needed: Set<Int> = [outputIndex]
            for position in order.reversed() where needed.contains(position) { needed.formUnion(reads[position]) }
            return order.filter { needed.contains($0) || entries[$0]["class_name"]?.string == "InputLayer" }.map { entries[$0] }
        }

        /// The layer names of a functional config's `output_layers`: `[["name", 0, 0], …]`,
        /// `["name", 0, 0]` or Keras 3's dicts.
        static func outputNames(_ value: ConfigValue?) -> [String] {
            guard let value else { return [] }
            if let items = value.array, items.count >= 3, let name = items[0].string, items[1].int != nil { return [name] }
            return inboundNames(value)
        }
    }

    /// The names of the layers feeding a layer, from any generation's `inbound_nodes`:
    /// Keras 1/2 `[[["name", 0, 0, {…}]]]` or Keras 3 `[{"args": [{"config": {"keras_history": ["name", 0, 0]}}]}]`.
    static func inboundNames(_ nodes: ConfigValue) -> [String] {
        var names: [String] = []
        func visit(_ value: ConfigValue) {
            switch value {
            case .object(let members):
                if let history = members["keras_history"]?.array, let name = history.first?.string {
                    names.append(name)
                } else {
                    for key in members.keys.sorted() { visit(members[key]!) }
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

    /// Refuses an input declaration whose sizes are neither null nor whole numbers: a nested
    /// model's InputLayer is fed by the outer model, but a file declaring `2.5` channels is damaged.
    fileprivate static func checkDeclaredShape(of config: ConfigValue, layer: String, path: String) throws(ImportError) {
        for key in ["batch_shape", "batch_input_shape", "input_shape"] {
            guard let shape = config[key]?.array else { continue }
            for entry in shape {
                if case .null = entry { continue }
                guard let size = entry.int, size >= 1 else {
                    throw .unreadableArchitecture(path: path, reason: "the InputLayer \(QuotedName.quoted(layer)) declares \(key) with an entry that is not a positive whole number or null")
                }
            }
        }
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
