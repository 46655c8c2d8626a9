"""A copy of the OTLP trace messages whose string fields are bytes.

protobuf refuses a whole message when one string holds invalid UTF-8. Re-reading such a body with
these messages lets the decoder reject only the spans that carry the invalid text.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

_PREFIX = "lenient"


def _lenient_copy(module: object) -> descriptor_pb2.FileDescriptorProto:
    fdp = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(fdp)  # type: ignore[attr-defined]
    fdp.name = f"{_PREFIX}/{fdp.name}"
    fdp.package = f"{_PREFIX}.{fdp.package}"
    fdp.dependency[:] = [f"{_PREFIX}/{d}" for d in fdp.dependency if d.startswith("opentelemetry/")]
    fdp.ClearField("options")

    def fix(messages: object) -> None:
        for msg in messages:  # type: ignore[attr-defined]
            for f in msg.field:
                if f.type == descriptor_pb2.FieldDescriptorProto.TYPE_STRING:
                    f.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
                if f.type_name.startswith(".opentelemetry."):
                    f.type_name = f".{_PREFIX}{f.type_name}"
            fix(msg.nested_type)

    fix(fdp.message_type)
    for svc in list(fdp.service):
        fdp.service.remove(svc)
    return fdp


_pool = descriptor_pool.DescriptorPool()
for _mod in (common_pb2, resource_pb2, trace_pb2, trace_service_pb2):
    _pool.Add(_lenient_copy(_mod))

LenientTraceRequest = message_factory.GetMessageClass(
    _pool.FindMessageTypeByName(f"{_PREFIX}.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest")
)
