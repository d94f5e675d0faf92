import Foundation
import Testing
import _FCNTestSupport

/// The isolated model reader and hostile model files, end to end
/// (`Tests/Fixtures/hostile/`, scripts/golden/make_hostile_fixtures.py).
@Suite struct IsolationTests {
    let scratch = try! TemporaryDirectory()
    let lenet = Fixtures.path("models/k3_lenet.h5")
    let input = Fixtures.path("golden/k3_lenet.input.npy")

    private func hostile(_ name: String) -> String { Fixtures.path("hostile/\(name)") }

    /// Expects a one-line error naming each fragment and no file at `output`.
    private func expectRefused(_ arguments: [String], output: String?, mentions fragments: [String],
                               environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try CommandRunner.run(arguments, environment: environment)
        #expect(result.status == 1, sourceLocation: sourceLocation)
        let message = result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!message.contains("\n"), "more than one line: \(message)", sourceLocation: sourceLocation)
        for fragment in fragments { #expect(message.contains(fragment), "\(message) lacks \(fragment)", sourceLocation: sourceLocation) }
        if let output { #expect(!FileManager.default.fileExists(atPath: output), sourceLocation: sourceLocation) }
    }

    @Test func theIsolatedReaderGivesWhatTheInProcessOneGives() throws {
        let isolated = scratch.path("isolated.npy"), inProcess = scratch.path("in-process.npy")
        #expect(try CommandRunner.run(["run", lenet, input, "-o", isolated]).status == 0)
        #expect(try CommandRunner.run(["run", lenet, input, "-o", inProcess, "--trusted-file"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: isolated)) == Data(contentsOf: URL(fileURLWithPath: inProcess)))
    }

    @Test func readsInAChildWithLimitsUnlessTrusted() throws {
        // 64 MiB of address space is too little for the reader process: only the isolated path has it.
        try expectRefused(["inspect", lenet], output: nil, mentions: ["the HDF5 library failed", "FCN_READER_MAX_MEMORY"],
                          environment: ["FCN_READER_MAX_MEMORY": "64"])
        #expect(try CommandRunner.run(["inspect", lenet, "--trusted-file"], environment: ["FCN_READER_MAX_MEMORY": "64"]).status == 0)
        #expect(try CommandRunner.run(["inspect", lenet], environment: ["FCN_READER_MAX_MEMORY": "64", "FCN_TRUSTED_FILES": "1"]).status == 0)
        try expectRefused(["inspect", lenet], output: nil, mentions: ["the HDF5 library failed", "FCN_READER_TIMEOUT"],
                          environment: ["FCN_READER_TIMEOUT": "0.001"])
    }

    @Test func externalStorageIsRefusedAndItsBytesGoNowhere() throws {
        let secret = try Data(contentsOf: URL(fileURLWithPath: hostile("lenet_secret.bin")))
        let converted = scratch.path("fcn.h5"), output = scratch.path("out.npy")
        for (arguments, target) in [(["convert", hostile("lenet_external_bias.h5"), "-o", converted], converted),
                                    (["run", hostile("lenet_external_bias.h5"), input, "-o", output], output)] {
            let result = try CommandRunner.run(arguments)
            #expect(result.status == 1)
            #expect(result.standardError.contains("stored in external files"))
            #expect(!FileManager.default.fileExists(atPath: target))
            for text in [result.standardOutput, result.standardError] { #expect(Data(text.utf8).range(of: secret) == nil) }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
    }

    @Test func anExternalLinkToAFIFODoesNotBlock() throws {
        let copy = scratch.path("lenet_fifo_link.h5")
        try FileManager.default.copyItem(atPath: hostile("lenet_fifo_link.h5"), toPath: copy)
        #expect(mkfifo(scratch.path("fifo.h5"), 0o600) == 0)
        let started = Date()
        try expectRefused(["run", copy, input, "-o", scratch.path("out.npy")], output: scratch.path("out.npy"),
                          mentions: ["external link"], environment: ["FCN_READER_TIMEOUT": "30"])
        #expect(Date().timeIntervalSince(started) < 20)
        // The FIFO itself given as the model is refused before it is opened.
        try expectRefused(["inspect", scratch.path("fifo.h5")], output: nil, mentions: ["not a regular file"])
    }

    @Test func aFaultInsideLibhdf5BecomesOneLine() throws {
        // One byte that makes libhdf5 itself fault (SIGSEGV in H5HG_read) when read in process.
        try expectRefused(["inspect", hostile("global_heap_fault.h5")], output: nil,
                          mentions: ["the HDF5 library failed while reading '/@model_config'", "signal 11"])
    }

    @Test func aLibhdf5ThatSpinsIsStoppedByTheCPULimit() throws {
        // One byte that makes libhdf5 loop in its global-heap cache, using CPU, for ever.
        let started = Date()
        try expectRefused(["inspect", hostile("global_heap_spin.h5")], output: nil, mentions: ["CPU time limit", "FCN_READER_CPU_SECONDS"],
                          environment: ["FCN_READER_CPU_SECONDS": "2"])
        #expect(Date().timeIntervalSince(started) < 60)
    }

    @Test func storedSizesAreCheckedBeforeLibhdf5SizesABuffer() throws {
        // 10 values declared as 256 MiB numbers: refused by the check, not by running out of a
        // 400 MiB reader (before the check libhdf5 tried to allocate 256 MiB buffers).
        try expectRefused(["convert", hostile("lenet_huge_type_bias.h5"), "-o", scratch.path("fcn.h5")], output: scratch.path("fcn.h5"),
                          mentions: ["'/model_weights/fc2/lenet/fc2/bias'", "numbers of 268435456 bytes each"],
                          environment: ["FCN_READER_MAX_MEMORY": "400"])
        // Contiguous storage claiming 2.4 GB for 10 values (before the check, read as if sound: exit 0).
        try expectRefused(["convert", hostile("lenet_huge_storage_bias.h5"), "-o", scratch.path("fcn.h5")], output: scratch.path("fcn.h5"),
                          mentions: ["'/model_weights/fc2/lenet/fc2/bias'", "2399141892 stored bytes for 10 values"])
    }

    @Test func hostileValuesGetAMessageNotATrap() throws {
        try expectRefused(["convert", hostile("lenet_null_bias.h5"), "-o", scratch.path("fcn.h5")], output: scratch.path("fcn.h5"),
                          mentions: ["null dataspace"])
        try expectRefused(["verify", hostile("lenet_huge_input.fcn.h5")], output: nil, mentions: ["fcnkit_input_size", "99999999999"])
        for command in ["verify", "bench"] {
            try expectRefused([command, lenet, "--input", "100000x100000"], output: nil, mentions: ["random input", "--max-memory"])
        }
        // A converted file that lost its recorded size still verifies at the classifier's own size.
        #expect(try CommandRunner.run(["verify", hostile("lenet_no_input.fcn.h5")]).status == 0)
    }
}
