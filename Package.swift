// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "FCNKit",
    products: [
        .executable(name: "fcn", targets: ["fcn"]),
        .library(
            name: "FCNKit",
            targets: ["FCNModel", "FCNImport", "FCNIsolation", "FCNGeometry", "FCNTensorIO", "FCNRuntime", "FCNConvert", "FCNVerification",
                      "FCNKerasExport", "FCNResults", "FCNDensity", "FCNSlide"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(
            name: "CHDF5", pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),

        .target(
            name: "CImageCodecs",
            linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),

        .systemLibrary(
            name: "COpenSlide", pkgConfig: "openslide",
            providers: [.apt(["libopenslide-dev"])]),
        .target(name: "CTIFFIO", linkerSettings: [.linkedLibrary("tiff")]),

        .target(name: "CKernels"),
        .target(name: "CProcessLimits"),

        // MARK: - Public API
        .target(name: "FCNModel", dependencies: ["FCNDiagnostics"]),
        .target(name: "FCNDiagnostics"),
        .target(name: "HDF5Reader", dependencies: ["CHDF5", "FCNDiagnostics"]),
        .target(name: "HDF5Writer", dependencies: ["CHDF5", "HDF5Reader"]),
        .target(
            name: "FCNImport",
            dependencies: ["FCNModel", "FCNDiagnostics", "HDF5Reader", .product(name: "Yams", package: "Yams"),
                           .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        .target(name: "FCNIsolation", dependencies: ["CProcessLimits", "FCNModel", "FCNDiagnostics", "FCNImport", "HDF5Reader"]),
        .target(name: "FCNGeometry", dependencies: ["FCNModel", "FCNDiagnostics"]),
        .target(name: "FCNTensorIO", dependencies: ["FCNModel", "FCNDiagnostics"]),
        .target(name: "FCNRuntime", dependencies: ["FCNModel", "FCNDiagnostics", "COpenBLAS", "CKernels"]),
        .target(name: "FCNConvert", dependencies: ["FCNModel", "FCNDiagnostics", "FCNGeometry"]),
        .target(name: "FCNImage", dependencies: ["FCNModel", "FCNDiagnostics", "FCNRuntime", "FCNTensorIO", "CImageCodecs"]),
        .target(name: "FCNKerasExport", dependencies: ["FCNModel", "FCNDiagnostics", "FCNTensorIO", "HDF5Reader", "HDF5Writer"]),
        .target(name: "FCNResults"),
        .target(name: "FCNDensity", dependencies: ["FCNModel", "FCNGeometry", "FCNConvert", "FCNRuntime"]),
        .target(name: "FCNSlide", dependencies: ["COpenSlide", "CTIFFIO", "FCNModel", "FCNImage", "FCNRuntime", "FCNTensorIO"]),
        .target(name: "FCNVerification", dependencies: ["FCNModel", "FCNDiagnostics", "FCNGeometry", "FCNConvert", "FCNRuntime", "FCNDensity"]),
        .executableTarget(
            name: "fcn",
            dependencies: [
                "FCNModel", "FCNDiagnostics", "FCNImport", "FCNGeometry", "FCNTensorIO", "FCNRuntime", "FCNConvert", "FCNVerification",
                "FCNKerasExport", "FCNImage", "FCNResults", "FCNIsolation", "FCNDensity", "FCNSlide",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: - Implementation details
        // The fuzzer of fcn's readers (scripts/fuzz, docs/security.md); no Python needed.
        .executableTarget(
            name: "fcn-fuzz",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        .target(name: "_FCNTestSupport", dependencies: ["FCNModel", "FCNImport"], path: "Tests/_FCNTestSupport"),

        // MARK: - Unit test bundles
        .testTarget(name: "HDF5ReaderTests", dependencies: ["HDF5Reader", "FCNDiagnostics", "_FCNTestSupport"]),
        .testTarget(name: "FCNImportTests", dependencies: ["FCNImport", "FCNGeometry", "_FCNTestSupport"]),
        .testTarget(name: "FCNGeometryTests", dependencies: ["FCNGeometry", "FCNConvert", "FCNImport", "_FCNTestSupport"]),
        .testTarget(
            name: "FCNRuntimeTests",
            dependencies: ["FCNRuntime", "FCNConvert", "FCNImport", "FCNTensorIO", "FCNVerification", "FCNKerasExport", "HDF5Writer", "HDF5Reader", "_FCNTestSupport"]),
        .testTarget(
            name: "FCNImageTests",
            dependencies: ["FCNImage", "FCNImport", "FCNConvert", "FCNRuntime", "FCNGeometry", "_FCNTestSupport"]),
        .testTarget(
            name: "FCNDensityTests",
            dependencies: ["FCNDensity", "FCNConvert", "FCNGeometry", "FCNRuntime", "FCNVerification", "FCNImport", "_FCNTestSupport"]),
        .testTarget(name: "FCNResultsTests", dependencies: ["FCNResults", "_FCNTestSupport"]),
        .testTarget(
            name: "FCNSlideTests",
            dependencies: ["FCNSlide", "COpenSlide", "FCNImage", "FCNRuntime", "FCNConvert", "FCNImport", "FCNTensorIO", "FCNModel", "_FCNTestSupport"]),
        .testTarget(name: "FCNTensorIOTests", dependencies: ["FCNTensorIO", "FCNDiagnostics", "_FCNTestSupport"]),
        .testTarget(
            name: "fcnTests",
            dependencies: ["fcn", "FCNModel", "FCNTensorIO", "FCNRuntime", "FCNKerasExport", "FCNImage", "_FCNTestSupport"]),
    ]
)
