// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "swift-mobilenet",
    products: [
        .library(name: "MobileNet", targets: ["MobileNet"]),
        .executable(name: "mobilenet", targets: ["mobilenet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // oneDNN 2.x (Debian 12's `libdnnl-dev`, 2.6, OpenMP-threaded). There is no pkg-config file,
        // so the module map links the library, and libgomp, by name. oneDNN 3.x (Homebrew's `onednn`,
        // for one) is not supported: it removed the `*_desc_init` API this code uses.
        .systemLibrary(
            name: "CDNNL",
            path: "Sources/CDNNL",
            providers: [.apt(["libdnnl-dev"])]
        ),
        // libjpeg-turbo's TurboJPEG API and libspng, for decoding photos and writing PNG pictures.
        .systemLibrary(
            name: "CTurboJPEG",
            path: "Sources/CTurboJPEG",
            pkgConfig: "libturbojpeg",
            providers: [.apt(["libturbojpeg0-dev"])]
        ),
        .systemLibrary(
            name: "CSPNG",
            path: "Sources/CSPNG",
            pkgConfig: "spng",
            providers: [.apt(["libspng-dev"])]
        ),
        // zlib, for the gzip-compressed IDX files of Fashion-MNIST. Not named `CZlib`: ZIPFoundation
        // already defines a module of that name on Linux, and two would clash.
        .systemLibrary(
            name: "CMobileNetZlib",
            path: "Sources/CMobileNetZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The compute and memory ceilings of a core (FMA and load loops in inline assembly), the
        // peak `mobilenet bench --profile` measures each step against.
        .target(name: "CMachinePeak"),
        // The int8 residual add in ONNX Runtime's and XNNPACK's arithmetics (a loop the C compiler
        // vectorizes for AVX2), which oneDNN's binary add cannot express.
        .target(name: "CQuantizedAdd"),
        .target(name: "MobileNetTensor", dependencies: ["CDNNL", "CQuantizedAdd"]),
        .target(name: "MobileNetNN", dependencies: ["MobileNetTensor"]),
        .target(name: "MobileNetModels", dependencies: ["MobileNetNN"]),
        .target(
            name: "MobileNetIO",
            dependencies: ["MobileNetTensor", "CTurboJPEG", "CSPNG", .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        .target(name: "MobileNetData", dependencies: ["MobileNetIO", "CMobileNetZlib"]),
        // The published weights as torchvision bundles them: file, preprocessing, labels, cache,
        // and the classifier that puts them together.
        .target(
            name: "MobileNetPretrained",
            dependencies: ["MobileNetModels", "MobileNetIO", "MobileNetData"],
            resources: [.copy("Resources")]
        ),
        .target(
            name: "MobileNetTraining",
            dependencies: ["MobileNetNN", "MobileNetIO", "MobileNetData", "MobileNetModels", "MobileNetPretrained"]
        ),
        // Post-training int8: calibration, the quantized graph, the int8 model.
        .target(name: "MobileNetQuantization", dependencies: ["MobileNetModels", "MobileNetIO"]),
        // Export to the deployment formats: ONNX (messages generated from ONNX's schema, with its
        // licence in Generated/).
        .target(
            name: "MobileNetExport",
            dependencies: ["MobileNetModels", "MobileNetQuantization", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Generated/LICENSE-ONNX.txt"]
        ),
        // Object detection: the SSDLite detector on MobileNetV3, its anchors, box coding, NMS and
        // loss; COCO-format data, the Fashion-MNIST scenes, and COCO's evaluation.
        .target(name: "MobileNetDetection", dependencies: ["MobileNetModels", "MobileNetData", "MobileNetTraining"]),
        // Semantic segmentation: LR-ASPP on a dilated MobileNetV3, per-pixel training and the
        // confusion-matrix metrics; the Fashion-MNIST scenes' masks and the VOC layout.
        .target(name: "MobileNetSegmentation", dependencies: ["MobileNetDetection"]),
        .target(
            name: "MobileNet",
            dependencies: [
                "MobileNetTensor", "MobileNetNN", "MobileNetModels", "MobileNetIO", "MobileNetData", "MobileNetPretrained",
                "MobileNetTraining", "MobileNetQuantization", "MobileNetExport", "MobileNetDetection", "MobileNetSegmentation",
            ]
        ),
        .executableTarget(
            name: "mobilenet",
            dependencies: [
                "MobileNet", "CMachinePeak",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "MobileNetTensorTests", dependencies: ["MobileNetTensor", "CQuantizedAdd"]),
        .testTarget(name: "MobileNetCLITests", dependencies: ["mobilenet", "CMachinePeak"]),
        .testTarget(name: "MobileNetIOTests", dependencies: ["MobileNetIO"], resources: [.copy("Fixtures")]),
        // Helpers shared by test targets (a temporary folder, a thread-safe log of skipped samples, the
        // fixtures' deterministic weights).
        .target(name: "MobileNetTestSupport", dependencies: ["MobileNetData", "MobileNetNN"], path: "Tests/MobileNetTestSupport"),
        .testTarget(name: "MobileNetDataTests", dependencies: ["MobileNetData", "MobileNetTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MobileNetTests", dependencies: ["MobileNet", "MobileNetTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MobileNetNNTests", dependencies: ["MobileNetNN"]),
        .testTarget(name: "MobileNetTrainingTests", dependencies: ["MobileNetTraining", "MobileNetTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "MobileNetDetectionTests", dependencies: ["MobileNetDetection", "MobileNetTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "MobileNetSegmentationTests", dependencies: ["MobileNetSegmentation", "MobileNetTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "MobileNetModelsTests",
            dependencies: ["MobileNetModels", "MobileNetQuantization", "MobileNetIO", "MobileNetExport", "MobileNetTestSupport"],
            resources: [.copy("Fixtures")]
        ),
    ]
)

// Kernel and model benchmarks (ordo-one/benchmark), only when asked for, so that building or
// testing the package never fetches the benchmark tooling:
//
//     MOBILENET_BENCHMARKS=1 swift package --disable-sandbox benchmark
if Context.environment["MOBILENET_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "KernelBenchmarks",
            dependencies: ["MobileNet", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/KernelBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
}

// libFuzzer harnesses, one per reader (Fuzz/README.md), only when asked for, so that `swift build`
// and `swift test` never see them. They need the fuzzer runtime, so build them apart:
//
//     MOBILENET_FUZZ=1 swift build -c release --scratch-path .build-fuzz \
//         -Xswiftc -sanitize=fuzzer,address --product FuzzSafeTensors
//
// (`make fuzz` does this and runs each harness over its corpus.)
if Context.environment["MOBILENET_FUZZ"] != nil {
    package.targets.append(
        .target(name: "CFuzzSupport", path: "Fuzz/CFuzzSupport"))
    package.targets.append(
        .target(name: "FuzzSupport", dependencies: ["CFuzzSupport", "CMobileNetZlib", "MobileNetIO"], path: "Fuzz/FuzzSupport"))
    let harnesses: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzCheckpoint", ["MobileNetIO"]),
        ("FuzzPickle", ["MobileNetIO"]),
        ("FuzzPickleZip", ["MobileNetIO"]),
        ("FuzzSafeTensors", ["MobileNetIO"]),
        ("FuzzPNG", ["MobileNetIO"]),
        ("FuzzJPEG", ["MobileNetIO"]),
        ("FuzzIDX", ["MobileNetData"]),
        ("FuzzTrainingState", ["MobileNetTraining", "MobileNetIO", "MobileNetTensor"]),
    ]
    for harness in harnesses {
        package.targets.append(
            .executableTarget(name: harness.name, dependencies: harness.dependencies + ["FuzzSupport"], path: "Fuzz/\(harness.name)"))
    }
}
