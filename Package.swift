// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "swift-mobilenet",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MobileNet", targets: ["MobileNet"]),
        .executable(name: "mobilenet", targets: ["mobilenet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // oneDNN 2.x (Debian `libdnnl-dev`, Homebrew `onednn`). There is no pkg-config file, so the
        // module map links the library by name.
        .systemLibrary(
            name: "CDNNL",
            path: "Sources/CDNNL",
            providers: [.apt(["libdnnl-dev"]), .brew(["onednn"])]
        ),
        .target(name: "MobileNetTensor", dependencies: ["CDNNL"]),
        .target(name: "MobileNetNN", dependencies: ["MobileNetTensor"]),
        .target(name: "MobileNetModels", dependencies: ["MobileNetNN"]),
        .target(name: "MobileNet", dependencies: ["MobileNetTensor", "MobileNetNN", "MobileNetModels"]),
        .executableTarget(
            name: "mobilenet",
            dependencies: [
                "MobileNet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "MobileNetTensorTests", dependencies: ["MobileNetTensor"]),
        .testTarget(name: "MobileNetCLITests", dependencies: ["mobilenet"]),
        .testTarget(name: "MobileNetNNTests", dependencies: ["MobileNetNN"]),
        .testTarget(
            name: "MobileNetModelsTests",
            dependencies: ["MobileNetModels"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
