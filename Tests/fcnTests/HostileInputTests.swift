import Foundation
import Testing
import _FCNTestSupport

/// Hostile settings, sidecars, inputs and images end to end: each gets one clean line, never a
/// trap, a hang or a file left behind (`Tests/Fixtures/hostile/`, made by
/// scripts/golden/make_hostile_fixtures.py; the classes of issue 11).
@Suite struct HostileInputTests {
    let scratch = try! TemporaryDirectory()
    let lenet = Fixtures.path("models/k3_lenet.h5")

    private func hostile(_ name: String) -> String { Fixtures.path("hostile/\(name)") }

    /// Runs `fcn` and expects exit status 1, one line on stderr with each fragment, no
    /// control character but the final newline, and nothing left in the scratch folder.
    @discardableResult
    private func expectRefused(_ arguments: [String], mentions fragments: [String], within seconds: Double = 30,
                               sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let started = Date()
        let result = try CommandRunner.run(arguments)
        #expect(Date().timeIntervalSince(started) < seconds, "took \(Date().timeIntervalSince(started)) s", sourceLocation: sourceLocation)
        #expect(result.status == 1, "status \(result.status): \(result.standardError.prefix(400))", sourceLocation: sourceLocation)
        let message = result.standardError.trimmingCharacters(in: .newlines)
        #expect(!message.unicodeScalars.contains { $0.properties.generalCategory == .control }, "\(message)", sourceLocation: sourceLocation)
        for fragment in fragments { #expect(message.contains(fragment), "\(message) lacks \(fragment)", sourceLocation: sourceLocation) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty, sourceLocation: sourceLocation)
        return message
    }

    private func manifest(_ folder: String) -> [String: String] {
        Fixtures.decodeJSON("hostile/\(folder)/manifest.json")
    }

    @Test func everyLayerSettingHasARange() throws {
        let cases = manifest("settings")
        #expect(cases.count >= 20)
        for (file, fragment) in cases.sorted(by: { $0.key < $1.key }) {
            try expectRefused(["inspect", hostile("settings/\(file)")], mentions: [fragment])
        }
        try expectRefused(["convert", hostile("settings/zeropad_negative.h5"), "-o", scratch.path("fcn.h5")], mentions: ["padding", "-3"])
    }

    @Test func shapesBeyondAnyMemoryAreRefusedNotTrapped() throws {
        // Four paddings of 2^20 then 2^20 filters: the element count would overflow Int.
        try expectRefused(["inspect", hostile("settings/zeropad_overflow.json"), "--trusted-file"], mentions: ["values"])
    }

    @Test func aDeclaredBlobIsComparedWithTheArchitectureBeforeItIsRead() throws {
        // 2^30 values declared, never written: reading it first would allocate 4 GiB.
        try expectRefused(["convert", hostile("caffe_huge_blob.caffemodel.h5"), "--arch", hostile("caffe_huge_blob.prototxt"),
                           "-o", scratch.path("fcn.h5"), "--trusted-file"], mentions: ["conv1", "32768", "implies 600"], within: 10)
    }

    @Test func nestingAndAliasBombsAreBounded() throws {
        try expectRefused(["inspect", hostile("deep.prototxt"), "--trusted-file"], mentions: ["nest deeper"])
        // JSON configs nest at most 64 deep (decoding cost grows with the square of the depth).
        try expectRefused(["inspect", hostile("deep.json"), "--trusted-file"], mentions: ["deeper than 64 levels"], within: 10)
        for file in ["deep.yaml", "deep_block.yaml"] {
            try expectRefused(["inspect", hostile(file), "--trusted-file"], mentions: ["cannot read the architecture"])
        }
        try expectRefused(["inspect", hostile("alias_bomb.yaml"), "--trusted-file"], mentions: ["aliases expand"], within: 10)
        // Aliases as PyYAML writes them (Keras 2's to_yaml) still read.
        #expect(try CommandRunner.run(["inspect", Fixtures.path("models/k2_weights.h5"), "--arch", Fixtures.path("models/k2_weights.yaml")]).status == 0)
    }

    @Test func verifyExplainsANetworkThatGivesAMap() throws {
        try expectRefused(["verify", hostile("conv_only.caffemodel.h5"), "--arch", hostile("conv_only.prototxt")],
                          mentions: ["8×8×2", "not one vector of scores"])
    }

    @Test func npyHeadersAreReadAsNumPyReadsThemOrRefused() throws {
        let cases = manifest("npy")
        #expect(cases.count >= 10)
        for (file, fragment) in cases.sorted(by: { $0.key < $1.key }) {
            try expectRefused(["run", lenet, hostile("npy/\(file)"), "-o", scratch.path("out.npy")], mentions: [fragment, file])
        }
    }

    @Test func anNpyOverTheMemoryBudgetIsRefusedBeforeItIsRead() throws {
        // A sparse file whose header promises 1 GiB of values (the data is all there, as holes).
        let inputs = try TemporaryDirectory()
        let path = inputs.path("large.npy")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (16384, 16384, 1), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        let prefix = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(prefix)))
        #expect(truncate(path, off_t(prefix.count + (1 << 30))) == 0)
        try expectRefused(["run", lenet, path, "-o", scratch.path("out.npy"), "--max-memory", "256"],
                          mentions: ["1024 MiB", "256 MiB", "--max-memory"], within: 10)
    }

    @Test func pngChunksCannotAskForGigabytes() throws {
        try expectRefused(["heatmap", lenet, hostile("huge_text_chunk.png"), "-o", scratch.path("maps")],
                          mentions: ["huge_text_chunk.png"], within: 10)
    }

    @Test func aJPEGWithoutItsEndIsRefused() throws {
        // Found by the fuzzer: libjpeg warns of the missing end only when decoding finishes.
        try expectRefused(["heatmap", lenet, hostile("cut_end.jpg"), "-o", scratch.path("maps")], mentions: ["truncated or corrupt"])
    }

    @Test func aFullDiskLeavesNoFileAndNoCrash() throws {
        // A 30 KiB file-size limit stands in for a full disk (SIGXFSZ ignored, so writes fail
        // with EFBIG as on a full disk); the converted LeNet takes about 70 KB.
        let output = scratch.path("fcn.h5")
        let script = "trap '' XFSZ; ulimit -f 30; exec \"$0\" convert \"$1\" -o \"$2\""
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script, CommandRunner.executable.path, lenet, output]
        let error = Pipe()
        process.standardError = error
        try process.run()
        let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .newlines)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 1, "\(process.terminationStatus): \(message)")
        #expect(!message.contains("\n"), "\(message)")
        #expect(message.contains("File too large") && !message.contains("errno"), "\(message)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
    }

    @Test func namesFromFilesAreEscaped() throws {
        try expectRefused(["inspect", hostile("hostile_names.h5")], mentions: ["'evil\\n\\u{1b}[2J"])
    }
}
