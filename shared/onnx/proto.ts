// onnx-proto is a CommonJS bundle of protobufjs static code for the ONNX schema (IR 8).
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type ProtoModel = InstanceType<typeof onnxProto.onnx.ModelProto>;
