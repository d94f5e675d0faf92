import Foundation

/// The fuzzer's generator: xorshift64* from a seed, so that a run can be repeated.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x2545_F491_4F6C_DD1D : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

/// Format-blind mutations of a file's bytes: what a damaged download or a careless editor does.
struct ByteMutator {
    /// Integer values at the edges of the types a file format stores sizes in.
    static let boundaryValues: [UInt64] = [
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF,
    ]

    /// One mutation of `bytes`, named for the reproducer's notes; `donor` lends bytes to splices.
    static func mutate(_ bytes: inout [UInt8], donor: [UInt8], random: inout SeededRandom) -> String {
        guard !bytes.isEmpty else {
            bytes = Array(donor.prefix(64))
            return "empty-replaced"
        }
        switch Int.random(in: 0..<7, using: &random) {
        case 0:
            let flips = Int.random(in: 1...8, using: &random)
            for _ in 0..<flips { bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= 1 << UInt8.random(in: 0..<8, using: &random) }
            return "bit-flips(\(flips))"
        case 1:
            let width = [1, 2, 4, 8].randomElement(using: &random)!
            let value = boundaryValues.randomElement(using: &random)!
            let bigEndian = Bool.random(using: &random)
            guard bytes.count >= width else { return "none" }
            var offset = Int.random(in: 0...(bytes.count - width), using: &random)
            if Bool.random(using: &random) { offset -= offset % width }
            for index in 0..<width {
                let shift = UInt64(8 * (bigEndian ? width - 1 - index : index))
                bytes[offset + index] = UInt8(truncatingIfNeeded: value >> shift)
            }
            return "boundary(\(width)B@\(offset)=\(value))"
        case 2:
            let cut = Int.random(in: 0..<bytes.count, using: &random)
            bytes.removeSubrange(cut...)
            return "truncate(\(cut))"
        case 3:
            guard !donor.isEmpty else { return "none" }
            let length = min(Int.random(in: 1...4096, using: &random), donor.count)
            let from = Int.random(in: 0...(donor.count - length), using: &random)
            let to = Int.random(in: 0..<bytes.count, using: &random)
            let end = min(to + length, bytes.count)
            bytes.replaceSubrange(to..<end, with: donor[from..<(from + (end - to))])
            return "splice(\(length)@\(to))"
        case 4:
            let length = min(Int.random(in: 1...4096, using: &random), bytes.count)
            let from = Int.random(in: 0...(bytes.count - length), using: &random)
            let chunk = Array(bytes[from..<(from + length)])
            bytes.insert(contentsOf: chunk, at: Int.random(in: 0...bytes.count, using: &random))
            return "duplicate(\(length))"
        case 5:
            let length = min(Int.random(in: 1...256, using: &random), bytes.count)
            let from = Int.random(in: 0...(bytes.count - length), using: &random)
            bytes.removeSubrange(from..<(from + length))
            return "delete(\(length)@\(from))"
        default:
            let count = Int.random(in: 1...16, using: &random)
            for _ in 0..<count { bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random) }
            return "random-bytes(\(count))"
        }
    }

    /// Replaces little-endian 8-byte values that look like dimensions (1…4096, aligned) with
    /// boundary values: dataspace and attribute sizes in HDF5 files are stored like that.
    static func editDimensions(_ bytes: inout [UInt8], random: inout SeededRandom) -> String {
        var candidates: [Int] = []
        var offset = 0
        while offset + 8 <= bytes.count {
            var value: UInt64 = 0
            for index in 0..<8 { value |= UInt64(bytes[offset + index]) << UInt64(8 * index) }
            if (1...4096).contains(value) { candidates.append(offset) }
            offset += 8
        }
        guard let chosen = candidates.randomElement(using: &random) else { return "none" }
        let value = ([0, 0x10_0000, 0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF] + boundaryValues).randomElement(using: &random)!
        for index in 0..<8 { bytes[chosen + index] = UInt8(truncatingIfNeeded: value >> UInt64(8 * index)) }
        return "dimension(@\(chosen)=\(value))"
    }

    /// Same-length edits inside the JSON text a file embeds (a Keras `model_config` attribute):
    /// digits, signs, keywords and quotes changed in place, so the HDF5 structure stays valid
    /// while the architecture it describes becomes hostile.
    static func editEmbeddedJSON(_ bytes: inout [UInt8], random: inout SeededRandom) -> String {
        let marker = Array("{\"class_name\"".utf8)
        guard let start = firstIndex(of: marker, in: bytes) else { return "none" }
        let end = min(bytes.count, start + 200_000)
        let edits = Int.random(in: 1...4, using: &random)
        var applied: [String] = []
        for _ in 0..<edits {
            let position = Int.random(in: start..<end, using: &random)
            switch bytes[position] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let replacement: [UInt8] = ["0", "9", "-", "-1", "99", "-9"].randomElement(using: &random)!.utf8.map { $0 }
                for (index, byte) in replacement.enumerated() where position + index < end { bytes[position + index] = byte }
                applied.append("digit@\(position)")
            case UInt8(ascii: "\""):
                bytes[position] = [UInt8(ascii: "'"), UInt8(ascii: "\\"), 0x1B, 0x0A].randomElement(using: &random)!
                applied.append("quote@\(position)")
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                bytes[position] = [UInt8(ascii: "1"), UInt8(ascii: "{"), UInt8(ascii: "[")].randomElement(using: &random)!
                applied.append("word@\(position)")
            default:
                bytes[position] = [UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ","),
                                   UInt8(ascii: ":"), 0x00, 0xFF].randomElement(using: &random)!
                applied.append("punct@\(position)")
            }
        }
        return "json(" + applied.joined(separator: ",") + ")"
    }

    static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        return haystack.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pattern in
                (0...(hay.count - pattern.count)).first { start in
                    hay[start] == pattern[0] && (1..<pattern.count).allSatisfy { hay[start + $0] == pattern[$0] }
                }
            }
        }
    }
}
