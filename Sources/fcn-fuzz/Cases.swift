import Foundation
import ZIPFoundation

/// Makes fuzz cases for every reader from the fixture corpus (`Tests/Fixtures`).
struct CaseMaker {
    let corpus: URL
    private var cache: [String: [UInt8]] = [:]

    init(corpus: URL) throws {
        self.corpus = corpus
        for (model, _, _) in Self.models + Self.caffe {
            guard FileManager.default.fileExists(atPath: corpus.appendingPathComponent(model).path) else {
                throw FuzzError("\(corpus.path) lacks \(model); --corpus names the fixture folder (Tests/Fixtures)")
            }
        }
    }

    /// Every reader a case can aim at.
    static let readers = ["hdf5", "keras-zip", "json", "yaml", "prototxt", "caffe", "npy", "png", "jpeg", "output"]

    /// Keras HDF5 models: (model, architecture sidecar, input for `fcn run`).
    static let models: [(String, String?, String?)] = [
        ("models/k1_tf.h5", nil, "golden/k1_tf.input.npy"), ("models/k1_th.h5", nil, "golden/k1_th.input.npy"),
        ("models/k2_full.h5", nil, "golden/k2_full.input.npy"), ("models/k2_weights.h5", "models/k2_weights.yaml", "golden/k2_weights.input.npy"),
        ("models/k3_functional.h5", nil, "golden/k3_functional.input.npy"), ("models/k3_gap.h5", nil, "golden/k3_gap.input.npy"),
        ("models/k3_lenet.h5", nil, "golden/k3_lenet.input.npy"), ("models/k3_lenet.weights.h5", "models/k3_lenet.json", "golden/k3_lenet.input.npy"),
        ("models/k3_nested.h5", nil, "golden/k3_nested.input.npy"), ("models/k3_vgg_same_bn.h5", nil, "golden/k3_vgg_same_bn.input.npy"),
        ("converted/k3_lenet.fcn.h5", nil, "golden/k3_lenet.fcn_input.npy"), ("converted/k1_th.fcn.h5", nil, nil),
        ("graphs/resnet_mini.h5", nil, "graphs/resnet_mini.input.npy"), ("graphs/bn_after_dense_tfkeras.h5", nil, "graphs/bn_after_dense.input.npy"),
    ]
    static let caffe: [(String, String?, String?)] = [
        ("models/caffe_quick.caffemodel.h5", "models/caffe_quick.prototxt", "golden/caffe_quick.input.npy"),
        ("models/caffe_quick.caffemodel.h5", "models/caffe_quick_input_layer.prototxt", "golden/caffe_quick_input_layer.input.npy"),
        ("graphs/caffenet_mini.caffemodel.h5", "graphs/caffenet_mini.prototxt", "graphs/caffenet_mini.input.npy"),
        ("graphs/caffe_resnet_inception.caffemodel.h5", "graphs/caffe_resnet_inception.prototxt", "graphs/caffe_resnet_inception.input.npy"),
    ]
    static let zips = ["mobilenet_v1", "resnet_mini", "conv1d_net", "misaligned", "preprocessing", "xception_mini", "bn_after_dense", "densenet_mini"]
    static let jsonArchitectures: [(String, String?)] = [
        ("models/k3_lenet.json", "models/k3_lenet.weights.h5"), ("models/k1_th.json", "models/k1_th.h5"),
        ("models/k3_nested.json", "models/k3_nested.weights.h5"), ("models/vgg16.json", nil),
        ("models/realarch/oustar_nn_lenet.json", nil), ("models/realarch/Summer2024REU_mnist.json", nil),
    ]
    static let images = ["hostile/seeds/rgb40x36.png", "hostile/seeds/gray40x36.png", "hostile/seeds/rgba40x36.png", "hostile/seeds/palette40x36.png",
                         "hostile/seeds/gray16_40x36.png", "hostile/seeds/interlaced40x36.png", "images/palette.png"]
    static let jpegs = ["hostile/seeds/rgb40x36.jpg", "hostile/seeds/rgb40x36.progressive.jpg", "hostile/seeds/gray40x36.jpg", "images/rgb.jpg"]

    mutating func bytes(_ relative: String) -> [UInt8] {
        if let cached = cache[relative] { return cached }
        let loaded = (try? Data(contentsOf: corpus.appendingPathComponent(relative))).map(Array.init) ?? []
        cache[relative] = loaded
        return loaded
    }

    /// The name a corpus file gets in a run's folder: its own, so that extensions (and the
    /// `-labels.txt` lookups beside it) behave as for a user's file.
    private func leaf(_ relative: String) -> String { (relative as NSString).lastPathComponent }

    /// A command on `model` (with `architecture`), chosen at random among those the reader serves.
    private func command(model: String, architecture: String?, input: String?, random: inout SeededRandom) -> ([String], [String]) {
        let arch = architecture.map { ["--arch", $0] } ?? []
        var choices: [([String], [String])] = [(["inspect", model] + arch, []), (["inspect", model] + arch, []),
                                               (["convert", model, "-o", "out.h5"] + arch, ["out.h5"])]
        if let input {
            choices.append((["run", model, input, "-o", "out.npy", "--threads", "1"] + arch, ["out.npy"]))
            // verify runs the network several times over: only on the small ones.
            if ["lenet", "k1_", "k2_", "caffe_quick"].contains(where: model.contains) {
                choices.append((["verify", model, "--threads", "1"] + arch, []))
            }
        }
        return choices.randomElement(using: &random)!
    }

    /// A model file changed byte by byte, in its dimensions, or in its embedded config.
    private mutating func mutatedHDF5(_ relative: String, random: inout SeededRandom) -> ([UInt8], String) {
        var bytes = bytes(relative)
        let donor = self.bytes(Self.models.randomElement(using: &random)!.0)
        var notes: [String] = []
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            switch Int.random(in: 0..<4, using: &random) {
            case 0: notes.append(ByteMutator.editDimensions(&bytes, random: &random))
            case 1: notes.append(ByteMutator.editEmbeddedJSON(&bytes, random: &random))
            default: notes.append(ByteMutator.mutate(&bytes, donor: donor, random: &random))
            }
        }
        return (bytes, notes.joined(separator: ","))
    }

    mutating func make(reader: String, random: inout SeededRandom) throws -> FuzzCase {
        switch reader {
        case "hdf5", "caffe":
            let (model, architecture, input) = (reader == "hdf5" ? Self.models : Self.caffe).randomElement(using: &random)!
            let (bytes, note) = mutatedHDF5(model, random: &random)
            var files = [leaf(model): bytes]
            if let architecture { files[leaf(architecture)] = self.bytes(architecture) }
            if let input { files["input.npy"] = self.bytes(input) }
            let (arguments, outputs) = command(model: leaf(model), architecture: architecture.map(leaf), input: input.map { _ in "input.npy" },
                                               random: &random)
            return FuzzCase(reader: reader, files: files, arguments: arguments, outputs: outputs, mustFail: false, note: "\(model): \(note)")
        case "keras-zip":
            let stem = Self.zips.randomElement(using: &random)!
            let (bytes, note, malformed) = try mutatedZip(bytes("graphs/\(stem).keras"), random: &random)
            let (arguments, outputs) = command(model: "\(stem).keras", architecture: nil, input: "input.npy", random: &random)
            return FuzzCase(reader: reader, files: ["\(stem).keras": bytes, "input.npy": self.bytes("graphs/\(stem).input.npy")],
                            arguments: arguments, outputs: outputs, mustFail: malformed, note: "\(stem).keras: \(note)")
        case "json", "yaml":
            let (architecture, weights) = Self.jsonArchitectures.randomElement(using: &random)!
            var generated = Grammars.mutateConfig(bytes(architecture), random: &random)
            var name = "model.json"
            if reader == "yaml" {
                let useKeras2 = Bool.random(using: &random)
                generated = Grammars.mutateYAML(useKeras2 ? bytes("models/k2_weights.yaml") : bytes(architecture), random: &random)
                name = "model.yaml"
                if useKeras2 {
                    let (arguments, outputs) = command(model: "k2_weights.h5", architecture: name, input: "input.npy", random: &random)
                    return FuzzCase(reader: reader, files: [name: generated.bytes, "k2_weights.h5": bytes("models/k2_weights.h5"),
                                                            "input.npy": bytes("golden/k2_weights.input.npy")],
                                    arguments: arguments, outputs: outputs, mustFail: generated.malformed, note: "k2_weights.yaml: \(generated.note)")
                }
            }
            var files = [name: generated.bytes]
            let arguments: [String], outputs: [String]
            if let weights, Bool.random(using: &random) {
                files[leaf(weights)] = bytes(weights)
                (arguments, outputs) = command(model: leaf(weights), architecture: name, input: nil, random: &random)
            } else {
                (arguments, outputs) = (["inspect", name], [])
            }
            return FuzzCase(reader: reader, files: files, arguments: arguments, outputs: outputs, mustFail: generated.malformed,
                            note: "\(architecture): \(generated.note)")
        case "prototxt":
            let (model, architecture, input) = Self.caffe.randomElement(using: &random)!
            let generated = Grammars.mutatePrototxt(bytes(architecture!), random: &random)
            var files = ["net.prototxt": generated.bytes]
            let arguments: [String], outputs: [String]
            if Bool.random(using: &random) {
                files[leaf(model)] = bytes(model)
                files["input.npy"] = bytes(input!)
                (arguments, outputs) = command(model: leaf(model), architecture: "net.prototxt", input: "input.npy", random: &random)
            } else {
                (arguments, outputs) = (["inspect", "net.prototxt"], [])
            }
            return FuzzCase(reader: reader, files: files, arguments: arguments, outputs: outputs, mustFail: generated.malformed,
                            note: "\(architecture!): \(generated.note)")
        case "npy":
            var generated = Grammars.npy(random: &random)
            if Int.random(in: 0..<4, using: &random) == 0 {
                generated.note += " " + ByteMutator.mutate(&generated.bytes, donor: [], random: &random)
                generated.malformed = false
            }
            return FuzzCase(reader: reader, files: ["input.npy": generated.bytes, "k3_lenet.h5": bytes("models/k3_lenet.h5")],
                            arguments: ["run", "k3_lenet.h5", "input.npy", "-o", "out.npy", "--threads", "1"], outputs: ["out.npy"],
                            mustFail: generated.malformed, note: generated.note, modelIsTrusted: true)
        case "png", "jpeg":
            let seed = (reader == "png" ? Self.images : Self.jpegs).randomElement(using: &random)!
            var generated: Grammars.Generated
            if Int.random(in: 0..<4, using: &random) == 0 {
                var bytes = bytes(seed)
                generated = Grammars.Generated(bytes: bytes, note: ByteMutator.mutate(&bytes, donor: self.bytes(seed), random: &random), malformed: false)
                generated.bytes = bytes
            } else {
                generated = reader == "png" ? Grammars.mutatePNG(bytes(seed), random: &random) : Grammars.mutateJPEG(bytes(seed), random: &random)
            }
            let name = "image." + (reader == "png" ? "png" : "jpg")
            return FuzzCase(reader: reader, files: [name: generated.bytes, "k3_lenet.h5": bytes("models/k3_lenet.h5")],
                            arguments: ["heatmap", "k3_lenet.h5", name, "-o", "out", "--threads", "1"], outputs: ["out"],
                            mustFail: generated.malformed, note: "\(seed): \(generated.note)", modelIsTrusted: true)
        default:
            return outputCase(random: &random)
        }
    }

    /// Output paths that must not hurt: the input itself, a folder, a missing folder, names
    /// with control characters, names too long for the file system.
    private mutating func outputCase(random: inout SeededRandom) -> FuzzCase {
        let targets = ["k3_lenet.h5", "input.npy", "existing", "missing/deeper/out", "", ".", "..", "a\nb", "\u{1B}[2J",
                       String(repeating: "n", count: 300), "existing/", "out", "-o"]
        let target = targets.randomElement(using: &random)!
        var files = ["k3_lenet.h5": bytes("models/k3_lenet.h5"), "input.npy": bytes("golden/k3_lenet.input.npy"),
                     "image.png": bytes("hostile/seeds/gray40x36.png"), "existing/keep.txt": Array("keep".utf8)]
        if Bool.random(using: &random) { files["out"] = Array("an existing file".utf8) }
        let commands: [[String]] = [["convert", "k3_lenet.h5", "-o", target], ["run", "k3_lenet.h5", "input.npy", "-o", target, "--threads", "1"],
                                    ["heatmap", "k3_lenet.h5", "image.png", "-o", target, "--threads", "1"]]
        var arguments = commands.randomElement(using: &random)!
        // Results in the folder above would land among other runs' folders.
        if arguments[0] == "heatmap", target == ".." { arguments = commands[0] }
        // convert and run refuse an existing file or a folder (no --overwrite); heatmap writes
        // into a folder, existing or new, next to what it holds.
        var outputs: [String] = []
        if arguments[0] == "heatmap" {
            if target == "." { outputs = ["."] }
            else if !files.keys.contains(target) { outputs = [target.hasSuffix("/") ? String(target.dropLast()) : target] }
        } else if !files.keys.contains(target), !["", ".", "..", "existing", "existing/", "-o"].contains(target) {
            outputs = [target]
        }
        return FuzzCase(reader: "output", files: files, arguments: arguments, outputs: outputs, mustFail: false,
                        note: "output \(target.debugDescription)", modelIsTrusted: true)
    }

    /// A `.keras` zip changed byte by byte, or rebuilt with one member changed, hostile member
    /// names (`../`, absolute paths), duplicates or too many members.
    private mutating func mutatedZip(_ seed: [UInt8], random: inout SeededRandom) throws -> ([UInt8], String, Bool) {
        if Int.random(in: 0..<3, using: &random) == 0 {
            var bytes = seed
            let note = ByteMutator.mutate(&bytes, donor: seed, random: &random)
            return (bytes, note, false)
        }
        let source = try Archive(data: Data(seed), accessMode: .read)
        var members: [(String, Data)] = []
        for entry in source {
            var data = Data()
            _ = try source.extract(entry, skipCRC32: true) { data.append($0) }
            members.append((entry.path, data))
        }
        var note = ""
        var malformed = false
        switch Int.random(in: 0..<6, using: &random) {
        case 0, 1:
            if let index = members.firstIndex(where: { $0.0 == "config.json" }) {
                let generated = Grammars.mutateConfig(Array(members[index].1), random: &random)
                members[index].1 = Data(generated.bytes)
                note = generated.note
                malformed = generated.malformed
            }
        case 2:
            if let index = members.firstIndex(where: { $0.0 == "model.weights.h5" }) {
                var bytes = Array(members[index].1)
                note = Int.random(in: 0..<2, using: &random) == 0 ? ByteMutator.editDimensions(&bytes, random: &random)
                                                                  : ByteMutator.mutate(&bytes, donor: seed, random: &random)
                members[index].1 = Data(bytes)
            }
        case 3:
            let name = ["../fcn-fuzz-escape", "/tmp/fcn-fuzz-escape", "../../../../tmp/fcn-fuzz-escape.txt", "./config.json", "config.json/",
                        "model.weights.h5\u{0}x", "\u{1B}[2J"].randomElement(using: &random)!
            members.insert((name, Data("escape".utf8)), at: Int.random(in: 0...members.count, using: &random))
            note = "member \(name.debugDescription)"
        case 4:
            if let member = members.randomElement(using: &random) { members.append(member) }
            note = "duplicate member"
        default:
            for index in 0..<70 { members.append(("extra\(index).txt", Data())) }
            note = "70 members"
            malformed = true
        }
        let rebuilt = try Archive(data: Data(), accessMode: .create)
        for (name, data) in members {
            try rebuilt.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count),
                                 compressionMethod: Bool.random(using: &random) ? .deflate : .none) { position, size in
                data.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
        return (Array(rebuilt.data ?? Data()), note, malformed)
    }
}
