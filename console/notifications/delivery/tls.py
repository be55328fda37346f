"""TLS contexts of delivering monitors (Python's :mod:`ssl`, its secure defaults).

HTTP (a client): the system's trusted CAs or ``tls.ca_certs``, certificate and host
name verified unless ``tls.insecure``, an optional client certificate. TCP (a server):
``tls.certfile`` (and ``keyfile``) is the server's certificate; clients are not asked
for one.
"""

from __future__ import annotations

import ssl

from console.config import BrokerTls

__all__ = ["client_context", "server_context"]


def client_context(tls: BrokerTls | None) -> ssl.SSLContext:
    """The context an HTTP monitor connects with (verification on by default).

    Raises:
        OSError, ssl.SSLError: a certificate or key file cannot be read.
    """
    cafile = str(tls.ca_certs) if tls is not None and tls.ca_certs is not None else None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    if tls is not None:
        if tls.certfile is not None:
            keyfile = str(tls.keyfile) if tls.keyfile is not None else None
            context.load_cert_chain(str(tls.certfile), keyfile)
        if tls.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    return context


def server_context(tls: BrokerTls) -> ssl.SSLContext:
    """The context a TCP monitor listens with.

    Raises:
        ValueError: no ``certfile``.
        OSError, ssl.SSLError: the certificate or key cannot be read.
    """
    if tls.certfile is None:
        raise ValueError("a TLS listener needs tls.certfile (and tls.keyfile)")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    keyfile = str(tls.keyfile) if tls.keyfile is not None else None
    context.load_cert_chain(str(tls.certfile), keyfile)
    return context
