"""The gRPC channel of the example clients: plaintext to a server on
loopback without authentication, or TLS with a bearer token, as `aesignal`
(the CLI) connects.

    parser = argparse.ArgumentParser()
    aesignal_channel.add_arguments(parser)
    args = parser.parse_args()
    with aesignal_channel.open_channel(args) as channel: ...

--tls-ca FILE verifies the server with that CA (--tls: the system roots);
the token comes from --token-file FILE (its first line) or the environment
variable AESIGNAL_TOKEN and is sent as "authorization: Bearer TOKEN" on
every call. A server with principals requires TLS, and gRPC sends a token
over TLS only, so a token without TLS is a usage error.
"""

import os

import grpc


class UsageError(Exception):
    """The connection options do not make sense together, or a file named
    by them cannot be read."""


def add_arguments(parser):
    parser.add_argument("--tls-ca", metavar="FILE",
                        help="TLS, verifying the server with this CA")
    parser.add_argument("--tls", action="store_true",
                        help="TLS, verifying the server with the system roots")
    parser.add_argument("--token-file", metavar="FILE",
                        help="bearer token (first line); default: the "
                             "AESIGNAL_TOKEN environment variable")


def _token(args):
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as f:
                token = f.readline().strip()
        except OSError as e:
            raise UsageError(f"--token-file: {e}") from e
        if not token:
            raise UsageError(f"--token-file: {args.token_file} is empty")
        return token
    return os.environ.get("AESIGNAL_TOKEN", "").strip() or None


def open_channel(args):
    """A channel to args.server as the options say; raises UsageError."""
    token = _token(args)
    if not (args.tls or args.tls_ca):
        if token:
            raise UsageError("a bearer token is sent over TLS only: give "
                             "--tls-ca FILE (or --tls)")
        return grpc.insecure_channel(args.server)
    root = None
    if args.tls_ca:
        try:
            with open(args.tls_ca, "rb") as f:
                root = f.read()
        except OSError as e:
            raise UsageError(f"--tls-ca: {e}") from e
    credentials = grpc.ssl_channel_credentials(root_certificates=root)
    if token:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(token))
    return grpc.secure_channel(args.server, credentials)
