"""Rich error details of an aesignal RPC error.

aesignal puts a serialized google.rpc.Status in the `grpc-status-details-bin`
trailer of every error: a BadRequest with one FieldViolation per problem for
INVALID_ARGUMENT, and an ErrorInfo (domain `aesignal.dev`) whose `reason` a
client can branch on. grpcio exposes the trailer as raw bytes; decoding it
needs only the generated google/rpc stubs (no grpcio-status package).
"""

from google.rpc import error_details_pb2, status_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"


def status_of(error):
    """The google.rpc.Status of a grpc.RpcError (a grpc.Call), or None."""
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY:
            return status_pb2.Status.FromString(value)
    return None


def _details(error, message_class):
    status = status_of(error)
    if status is None:
        return []
    found = []
    for any_detail in status.details:
        if any_detail.Is(message_class.DESCRIPTOR):
            message = message_class()
            any_detail.Unpack(message)
            found.append(message)
    return found


def rejected_fields(result):
    """[(field, reason)] of a REJECTED aesignal.v1.ReportResult: every field
    violation of its `error` (the first problem of each group of checks), else
    its one `field` and `reason`."""
    fields = []
    for any_detail in result.error.details:
        if any_detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            any_detail.Unpack(bad_request)
            fields += [(v.field, v.description)
                       for v in bad_request.field_violations]
    return fields or [(result.field, result.reason)]


def field_violations(error):
    """[(field, description)] from the error's BadRequest details."""
    return [(v.field, v.description)
            for bad_request in _details(error, error_details_pb2.BadRequest)
            for v in bad_request.field_violations]


def error_info(error):
    """The error's google.rpc.ErrorInfo, or None."""
    infos = _details(error, error_details_pb2.ErrorInfo)
    return infos[0] if infos else None


def describe(error):
    """One line per field violation, else the status message: what a person
    running an example needs to fix the request."""
    violations = field_violations(error)
    if violations:
        return "\n".join(f"  {field}: {description}"
                         for field, description in violations)
    return f"  {error.details()}"
