// The one module users import: `import MobileNet` brings in tensors and engines, layers, the
// model zoo, checkpoint and image I/O, datasets and transforms, the published weights, training, int8 quantization,
// export, object detection and semantic segmentation.
@_exported import MobileNetData
@_exported import MobileNetDetection
@_exported import MobileNetExport
@_exported import MobileNetIO
@_exported import MobileNetModels
@_exported import MobileNetNN
@_exported import MobileNetPretrained
@_exported import MobileNetQuantization
@_exported import MobileNetSegmentation
@_exported import MobileNetTensor
@_exported import MobileNetTraining
