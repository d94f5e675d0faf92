import Foundation
import ZIPFoundation

/// Generators that know a format's grammar, so that their inputs get past the first checks and
/// reach the code behind them. Each returns the new bytes, what it did, and whether the result
/// is malformed by construction (then `fcn` must refuse it: exit 0 is a finding).
enum Grammars {
    struct Generated {
        var bytes: [UInt8]
        var note: String
        var malformed: Bool
    }

    // MARK: - Keras configs (JSON, YAML)

    /// Settings that are sizes: a value of 0, a negative one or one over 2^20 must be refused.
    static let sizeKeys: Set<String> = [
        "filters", "nb_filter", "units", "output_dim", "kernel_size", "nb_row", "nb_col", "strides", "subsample", "pool_size",
        "dilation_rate", "depth_multiplier", "groups", "batch_input_shape", "batch_shape", "target_shape",
    ]
    static var hostileNumbers: [Any] { [0, -1, -2_147_483_648, 2_147_483_648, 1 << 20 + 1, Int64.max, 1e308, -0.5, 2.5, "12", NSNull()] }
    static let hostileStrings = ["", "\u{1B}[2J\u{1B}[H", "evil\nname", String(repeating: "A", count: 5000), "../../etc/passwd", "Lambda",
                                 "channels_first", "same", "causal", "relu6", "\u{0}", "Conv2D", "Dense", "Functional", "Sequential"]

    /// A Keras config with 1 to 4 settings replaced, layers duplicated, dropped or swapped.
    static func mutateConfig(_ text: [UInt8], random: inout SeededRandom) -> Generated {
        guard var tree = try? JSONSerialization.jsonObject(with: Data(text), options: [.fragmentsAllowed]) else {
            return Generated(bytes: text, note: "unparsable-seed", malformed: false)
        }
        var notes: [String] = []
        var malformed = false
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            var paths: [[PathStep]] = []
            collectPaths(tree, prefix: [], into: &paths)
            guard let path = paths.randomElement(using: &random) else { break }
            let key = path.last.flatMap { if case .key(let name) = $0 { name } else { nil } }
                ?? path.reversed().lazy.compactMap { if case .key(let name) = $0 { name } else { nil } }.first ?? ""
            let action = Int.random(in: 0..<6, using: &random)
            tree = rewrite(tree, along: path[...]) { value in
                switch action {
                case 0, 1:
                    let replacement = hostileNumbers.randomElement(using: &random)!
                    if sizeKeys.contains(key), value is NSNumber, let number = replacement as? NSNumber, !(replacement is String),
                       number.doubleValue <= 0 || number.doubleValue > Double(1 << 20) || number.doubleValue.rounded() != number.doubleValue {
                        malformed = true
                    }
                    notes.append("\(key)=\(replacement)")
                    return replacement
                case 2:
                    notes.append("\(key)=string")
                    return hostileStrings.randomElement(using: &random)!
                case 3:
                    notes.append("\(key)=deep")
                    var nested: Any = value
                    for _ in 0..<Int.random(in: 1...600, using: &random) { nested = [nested] }
                    return nested
                case 4:
                    if var list = value as? [Any], !list.isEmpty {
                        let index = Int.random(in: 0..<list.count, using: &random)
                        if Bool.random(using: &random) { list.insert(list[index], at: index) } else { list.remove(at: index) }
                        notes.append("\(key)-list-edit")
                        return list
                    }
                    notes.append("\(key)=[]")
                    return [Any]()
                default:
                    notes.append("\(key)={}")
                    return [String: Any]()
                }
            }
        }
        let data = (try? JSONSerialization.data(withJSONObject: tree, options: [.fragmentsAllowed])) ?? Data(text)
        return Generated(bytes: Array(data), note: "config(" + notes.joined(separator: ";") + ")", malformed: malformed)
    }

    enum PathStep {
        case key(String)
        case index(Int)
    }

    private static func collectPaths(_ value: Any, prefix: [PathStep], into paths: inout [[PathStep]]) {
        guard paths.count < 20_000 else { return }
        if !prefix.isEmpty { paths.append(prefix) }
        if let object = value as? [String: Any] {
            for (key, child) in object { collectPaths(child, prefix: prefix + [.key(key)], into: &paths) }
        } else if let list = value as? [Any] {
            for (index, child) in list.enumerated() { collectPaths(child, prefix: prefix + [.index(index)], into: &paths) }
        }
    }

    private static func rewrite(_ value: Any, along path: ArraySlice<PathStep>, _ change: (Any) -> Any) -> Any {
        guard let step = path.first else { return change(value) }
        switch step {
        case .key(let key):
            guard var object = value as? [String: Any], let child = object[key] else { return value }
            object[key] = rewrite(child, along: path.dropFirst(), change)
            return object
        case .index(let index):
            guard var list = value as? [Any], list.indices.contains(index) else { return value }
            list[index] = rewrite(list[index], along: path.dropFirst(), change)
            return list
        }
    }

    /// YAML: the JSON text of a mutated config (YAML reads JSON), or text-level YAML hazards:
    /// alias bombs, anchors, deep block nesting, Python tags, tabs.
    static func mutateYAML(_ text: [UInt8], random: inout SeededRandom) -> Generated {
        switch Int.random(in: 0..<5, using: &random) {
        case 0:
            let width = Int.random(in: 2...12, using: &random), depth = Int.random(in: 2...12, using: &random)
            var lines = ["a0: &a0 [" + Array(repeating: "x", count: width).joined(separator: ", ") + "]"]
            for level in 1..<depth {
                lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: width).joined(separator: ", ") + "]")
            }
            lines += ["class_name: Sequential", "config: *a\(depth - 1)"]
            return Generated(bytes: Array(lines.joined(separator: "\n").utf8), note: "alias-bomb(\(width)^\(depth))", malformed: true)
        case 1:
            let depth = Int.random(in: 100...20_000, using: &random)
            return Generated(bytes: Array((String(repeating: "- ", count: depth) + "x\n").utf8), note: "deep-block(\(depth))", malformed: true)
        case 2:
            var source = String(decoding: text, as: UTF8.self)
            let tags = ["!!python/object/apply:os.system [\"touch pwned\"]", "!!python/name:os.system", "&x", "*undefined", "\t", ": :", "? complex"]
            var lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for _ in 0..<Int.random(in: 1...5, using: &random) where !lines.isEmpty {
                let index = Int.random(in: 0..<lines.count, using: &random)
                lines[index] += " " + tags.randomElement(using: &random)!
            }
            source = lines.joined(separator: "\n")
            return Generated(bytes: Array(source.utf8), note: "yaml-text", malformed: false)
        default:
            return mutateConfig(text, random: &random)
        }
    }

    // MARK: - Caffe prototxt

    static let prototxtNumbers = ["0", "-1", "-2147483648", "2147483648", "99999999999999999999", "1e308", "nan", "0x10", "1.5", "\"3\""]

    /// Token-level edits of a prototxt: numbers to boundary values, fields dropped or repeated,
    /// braces added or removed, types swapped, nesting deepened.
    static func mutatePrototxt(_ text: [UInt8], random: inout SeededRandom) -> Generated {
        var lines = String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var notes: [String] = []
        var malformed = false
        for _ in 0..<Int.random(in: 1...4, using: &random) where !lines.isEmpty {
            let index = Int.random(in: 0..<lines.count, using: &random)
            let line = lines[index]
            switch Int.random(in: 0..<7, using: &random) {
            case 0, 1:
                guard let colon = line.firstIndex(of: ":") else { continue }
                let key = line[..<colon].trimmingCharacters(in: .whitespaces)
                let value = prototxtNumbers.randomElement(using: &random)!
                if ["num_output", "kernel_size", "stride", "group"].contains(key), value == "0" || value.hasPrefix("-") { malformed = true }
                lines[index] = line[...colon] + " " + value
                notes.append("\(key)=\(value)")
            case 2:
                lines.remove(at: index)
                notes.append("drop")
            case 3:
                lines.insert(line, at: index)
                notes.append("repeat")
            case 4:
                lines.insert(["{", "}", "layer {", "}}}", "\"unclosed"].randomElement(using: &random)!, at: index)
                notes.append("brace")
                malformed = true
            case 5:
                guard line.contains("type:") else { continue }
                let types = ["\"Convolution\"", "\"InnerProduct\"", "\"Pooling\"", "\"Eltwise\"", "\"Concat\"", "\"Split\"", "\"BatchNorm\"",
                             "\"Scale\"", "\"Python\"", "\"\u{1B}[2J\"", "\"LRN\"", "\"Input\""]
                lines[index] = "  type: " + types.randomElement(using: &random)!
                notes.append("type")
            default:
                let depth = Int.random(in: 50...5000, using: &random)
                lines.insert(String(repeating: "a {", count: depth) + String(repeating: "}", count: depth), at: index)
                notes.append("nest(\(depth))")
                if depth > 100 { malformed = true }
            }
        }
        return Generated(bytes: Array(lines.joined(separator: "\n").utf8), note: "prototxt(" + notes.joined(separator: ";") + ")",
                         malformed: malformed)
    }

    // MARK: - .npy

    /// A `.npy` built from header parts, each valid or not; the data has the length the shape
    /// implies, or not.
    static func npy(random: inout SeededRandom) -> Generated {
        var malformed = false
        func pick(_ valid: [String], _ invalid: [String]) -> String {
            if Int.random(in: 0..<4, using: &random) == 0 {
                malformed = true
                return invalid.randomElement(using: &random)!
            }
            return valid.randomElement(using: &random)!
        }
        // Other number types and Fortran order are valid: fcn reads them as float32 in C order.
        let descr = pick(["'<f4'", "\"<f4\"", "'>f4'", "'<f8'", "'|u1'", "'<i2'", "'|b1'"],
                         ["'f4'", "'<f4", "<f4", "'<f4' + 'x'", "b'<f4'", "'\u{1B}[2J'", "'<c8'", "'|O'", "'<U4'"])
        let fortran = pick(["False", "True"], ["0", "None", "false", "Maybe", ""])
        let sizes = [[28, 28, 1], [1, 28, 28, 1], [2, 28, 28, 1], [28, 28], [40, 36, 1], [1, 40, 36]].randomElement(using: &random)!
        let validShape = "(" + sizes.map(String.init).joined(separator: ", ") + ")"
        let shape = pick([validShape, "(" + sizes.map { "\($0)L" }.joined(separator: ", ") + ")"],
                         ["(99999999999999999999, 28, 28, 1)", "(-1, 28, 28, 1)", "(abc, 28, 28, 1)", "((28, 28), 1)", "784", "(784)",
                          "(28, 28, 1", "(4611686018427387904, 4)", "(0x1c, 28, 1)", "(28,, 28)", "[28, 28, 1]", "(1_000, 28)"])
        var entries = ["'descr': \(descr)", "'fortran_order': \(fortran)", "'shape': \(shape)"]
        switch Int.random(in: 0..<8, using: &random) {
        case 0:
            entries.append(["'descr': '>f8'", "'shape': (1,)", "'evil': 1", "'fortran_order': True"].randomElement(using: &random)!)
            malformed = true
        case 1:
            entries.removeLast()
            malformed = true
        case 2:
            entries.shuffle(using: &random)
        default:
            break
        }
        var header = "{" + entries.joined(separator: ", ") + ", }"
        if Int.random(in: 0..<10, using: &random) == 0 {
            header = ["['descr', '<f4']", "{", "", "{'descr': '<f4', 'fortran_order': False, 'shape': (28, 28, 1), } junk"].randomElement(using: &random)!
            malformed = true
        }
        let version = [1, 1, 1, 2, 3].randomElement(using: &random)!
        let prefixLength = version == 1 ? 10 : 12
        header += String(repeating: " ", count: (64 - (prefixLength + header.utf8.count + 1) % 64) % 64) + "\n"
        var declared = header.utf8.count
        if Int.random(in: 0..<10, using: &random) == 0 {
            declared = [0, 1, declared - 5, declared + 7, 0xFFFF, 0x7FFF_FFFF].randomElement(using: &random)!
            malformed = true
        }
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, UInt8(version), 0]
        if version == 1 {
            bytes += [UInt8(truncatingIfNeeded: declared), UInt8(truncatingIfNeeded: declared >> 8)]
        } else {
            bytes += (0..<4).map { UInt8(truncatingIfNeeded: declared >> (8 * $0)) }
        }
        bytes += Array(header.utf8)
        // The data is written as float32 whatever the header says; it is short only when it has
        // fewer bytes than the declared type needs (a '<i2' header needs half as many).
        let needed = sizes.reduce(1, *)
        var count = needed
        if Int.random(in: 0..<6, using: &random) == 0 {
            count = max(0, count - Int.random(in: 1...count, using: &random))
            let itemBytes = ["'|u1'": 1, "'|b1'": 1, "'<i2'": 2, "'<f8'": 8].first { descr == $0.key }?.value ?? 4
            if count * 4 < needed * itemBytes { malformed = true }
        }
        for index in 0..<count {
            let value = Float(index % 255) / 255
            bytes += withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
        }
        return Generated(bytes: bytes, note: "npy(v\(version) \(entries.joined(separator: " ")) values=\(count))", malformed: malformed)
    }

    // MARK: - PNG

    struct Chunk {
        var kind: [UInt8]
        var payload: [UInt8]
    }

    static func pngChunks(_ bytes: [UInt8]) -> [Chunk]? {
        guard bytes.count > 8 else { return nil }
        var chunks: [Chunk] = []
        var offset = 8
        while offset + 12 <= bytes.count {
            let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard offset + 12 + length <= bytes.count else { return nil }
            chunks.append(Chunk(kind: Array(bytes[(offset + 4)..<(offset + 8)]), payload: Array(bytes[(offset + 8)..<(offset + 8 + length)])))
            offset += 12 + length
        }
        return chunks
    }

    static func png(_ chunks: [Chunk], lengths: [Int: UInt32] = [:]) -> [UInt8] {
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        for (index, chunk) in chunks.enumerated() {
            let length = lengths[index] ?? UInt32(chunk.payload.count)
            bytes += [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
            bytes += chunk.kind + chunk.payload
            let crc = Data(chunk.kind + chunk.payload).crc32(checksum: 0)
            bytes += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
        }
        return bytes
    }

    /// `bytes` as a zlib stream (header, raw deflate, Adler-32), as PNG's IDAT, zTXt and iCCP hold.
    static func deflated(_ bytes: [UInt8]) -> [UInt8] {
        let data = Data(bytes)
        var raw = Data()
        _ = try? Data.compress(size: Int64(data.count), bufferSize: 1 << 16, provider: { position, size in
            data.subdata(in: Int(position)..<(Int(position) + size))
        }, consumer: { raw.append($0) })
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        let adler = b << 16 | a
        return [0x78, 0x9C] + Array(raw) + [UInt8(adler >> 24), UInt8((adler >> 16) & 0xFF), UInt8((adler >> 8) & 0xFF), UInt8(adler & 0xFF)]
    }

    /// Chunk-level edits with valid CRCs: IHDR fields at boundary values, chunks repeated,
    /// dropped or lying about their length, text and ICC chunks that claim or inflate to a lot,
    /// IDAT bytes changed.
    static func mutatePNG(_ bytes: [UInt8], random: inout SeededRandom) -> Generated {
        guard var chunks = pngChunks(bytes), !chunks.isEmpty else { return Generated(bytes: bytes, note: "unparsable-seed", malformed: false) }
        var lengths: [Int: UInt32] = [:]
        var notes: [String] = []
        var malformed = false
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let index = Int.random(in: 0..<chunks.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0:
                guard chunks[0].kind == Array("IHDR".utf8), chunks[0].payload.count == 13 else { continue }
                let field = [0, 4, 8, 9, 10, 11, 12].randomElement(using: &random)!
                let value = ByteMutator.boundaryValues.randomElement(using: &random)!
                if field < 8 {
                    for byte in 0..<4 { chunks[0].payload[field + byte] = UInt8(truncatingIfNeeded: value >> UInt64(8 * (3 - byte))) }
                } else {
                    chunks[0].payload[field] = UInt8(truncatingIfNeeded: value)
                }
                notes.append("IHDR[\(field)]=\(value)")
            case 1:
                chunks.insert(chunks[index], at: index)
                notes.append("repeat-\(String(decoding: chunks[index].kind, as: UTF8.self))")
            case 2:
                let removed = chunks.remove(at: index)
                if [Array("IHDR".utf8), Array("IEND".utf8)].contains(removed.kind), !chunks.contains(where: { $0.kind == removed.kind }) {
                    malformed = true
                }
                notes.append("drop-\(String(decoding: removed.kind, as: UTF8.self))")
                if chunks.isEmpty { return Generated(bytes: png([]), note: "no-chunks", malformed: true) }
            case 3:
                lengths[index] = [0, 0x7FFF_FFF0, 0x8000_0000, 0xFFFF_FFFF, UInt32(chunks[index].payload.count + 1)].randomElement(using: &random)!
                notes.append("length-lie")
                // libpng stops at the first IEND and never reads a lie after it; a "lie" of the
                // true length is none.
                if index <= chunks.firstIndex(where: { $0.kind == Array("IEND".utf8) }) ?? chunks.count,
                   lengths[index] != UInt32(chunks[index].payload.count) {
                    malformed = true
                }
            case 4:
                let kind = ["tEXt", "zTXt", "iTXt", "iCCP", "sPLT", "eXIf", "abCd"].randomElement(using: &random)!
                let payload: [UInt8] = kind == "tEXt" ? Array("k\u{0}".utf8) + [UInt8](repeating: 0x41, count: Int.random(in: 0...100_000, using: &random))
                    : Array("k\u{0}\u{0}".utf8) + deflated([UInt8](repeating: 0, count: Int.random(in: 1...(16 << 20), using: &random)))
                chunks.insert(Chunk(kind: Array(kind.utf8), payload: payload), at: min(1, chunks.count))
                notes.append("insert-\(kind)")
            case 5:
                guard let idat = chunks.firstIndex(where: { $0.kind == Array("IDAT".utf8) }), !chunks[idat].payload.isEmpty else { continue }
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    chunks[idat].payload[Int.random(in: 0..<chunks[idat].payload.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                notes.append("idat-bytes")
            default:
                let idat = chunks.firstIndex(where: { $0.kind == Array("IDAT".utf8) }) ?? index
                let size = Int.random(in: 0...(4 << 20), using: &random)
                chunks[idat].payload = deflated([UInt8](repeating: 0xFF, count: size))
                notes.append("idat-inflates(\(size))")
            }
        }
        var output = png(chunks, lengths: lengths)
        if Int.random(in: 0..<8, using: &random) == 0 {
            output.removeLast(Int.random(in: 1...min(64, output.count - 8), using: &random))
            notes.append("truncate")
            malformed = true
        }
        return Generated(bytes: output, note: "png(" + notes.joined(separator: ";") + ")", malformed: malformed)
    }

    // MARK: - JPEG

    /// Marker-level edits: frame sizes at boundary values, segments repeated or dropped, scan
    /// headers multiplied (a progressive scan bomb), entropy-coded bytes changed.
    static func mutateJPEG(_ bytes: [UInt8], random: inout SeededRandom) -> Generated {
        var output = bytes
        var notes: [String] = []
        var malformed = false
        // Marker positions: 0xFF followed by a marker byte that has a length (not RSTn, SOI, EOI, fill).
        var markers: [Int] = []
        var offset = 2
        while offset + 4 <= bytes.count {
            guard bytes[offset] == 0xFF, bytes[offset + 1] != 0x00, bytes[offset + 1] != 0xFF else { break }
            markers.append(offset)
            if bytes[offset + 1] == 0xDA { break }
            offset += 2 + (Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3]))
        }
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            switch Int.random(in: 0..<5, using: &random) {
            case 0:
                guard let frame = markers.first(where: { [0xC0, 0xC1, 0xC2].contains(bytes[$0 + 1]) }), frame + 9 <= output.count else { continue }
                let field = [5, 7].randomElement(using: &random)!
                let value = [0, 1, 0xFFFF, 0x8000, 0x7FFF].randomElement(using: &random)!
                output[frame + field] = UInt8(value >> 8)
                output[frame + field + 1] = UInt8(value & 0xFF)
                notes.append("frame[\(field)]=\(value)")
            case 1:
                guard let marker = markers.randomElement(using: &random), marker + 4 <= output.count else { continue }
                let length = 2 + (Int(output[marker + 2]) << 8 | Int(output[marker + 3]))
                guard marker + length <= output.count else { continue }
                let segment = Array(output[marker..<(marker + length)])
                output.insert(contentsOf: Array(repeating: segment, count: Int.random(in: 1...400, using: &random)).flatMap { $0 }, at: marker)
                notes.append("repeat-\(String(format: "%02X", segment[1]))")
            case 2:
                guard let marker = markers.randomElement(using: &random), marker + 4 <= output.count else { continue }
                let length = 2 + (Int(output[marker + 2]) << 8 | Int(output[marker + 3]))
                guard marker + length <= output.count else { continue }
                output.removeSubrange(marker..<(marker + length))
                notes.append("drop-segment")
                markers = []
            case 3:
                let start = markers.last.map { $0 + 4 } ?? 2
                guard start < output.count - 2 else { continue }
                for _ in 0..<Int.random(in: 1...16, using: &random) {
                    output[Int.random(in: start..<(output.count - 2), using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                notes.append("entropy-bytes")
            default:
                output.removeLast(Int.random(in: 1...min(200, output.count - 2), using: &random))
                notes.append("truncate")
                malformed = true
            }
        }
        return Generated(bytes: output, note: "jpeg(" + notes.joined(separator: ";") + ")", malformed: malformed)
    }
}
