"""A small bearer-token server for distribution's ``auth.token`` flow, for tests and the sandbox.

Clients GET ``/token?service=…&scope=repository:name:pull,push`` with basic credentials; known
users get an ES256 JWT granting what they asked for, anonymous callers one granting nothing, and
wrong credentials a 401. distribution 2.8 trusts the token because its header ``kid`` is the
libtrust fingerprint of a public key whose certificate is in the registry's ``rootcertbundle``.

    async with token_server.running_token_server({"alice": "pw"}, directory=tmp) as tokens:
        async with registry_process.running_registry(token_auth=tokens.settings) as registry:
            ...
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import hashlib
import hmac
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.testbed.registry import registry_process

logger = logging.getLogger(__name__)

TOKEN_SECONDS = 300


def libtrust_key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """docker/libtrust ``KeyID``: base32 of the first 240 bits of sha256(DER SPKI), 12 groups of 4."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def self_signed_certificate(key: ec.EllipticCurvePrivateKey, *, name: str) -> x509.Certificate:
    """A one-year self-signed certificate for ``key`` (the registry only reads its public key)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def requested_access(scopes: list[str]) -> list[dict[str, Any]]:
    """``repository:app/x:pull,push`` → ``{"type", "name", "actions"}`` claims."""
    access = []
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind and name:
            access.append({"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]})
    return access


class TokenServer:
    """An aiohttp app issuing registry tokens; :meth:`start` it, then :meth:`stop` it."""

    def __init__(
        self,
        users: Mapping[str, str],
        *,
        directory: Path,
        service: str = "kiln-registry",
        issuer: str = "kiln-token-server",
    ) -> None:
        self.users = dict(users)
        self.service = service
        self.issuer = issuer
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._kid = libtrust_key_id(self._key.public_key())
        self.cert_path = directory / "token-signer.pem"
        certificate = self_signed_certificate(self._key, name=issuer)
        self.cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.issued = 0
        """How many tokens this server has issued (tests check that clients cache them)."""

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def settings(self) -> registry_process.TokenAuthSettings:
        """The registry's ``auth.token`` section that trusts this server."""
        return registry_process.TokenAuthSettings(
            realm=self.realm, service=self.service, issuer=self.issuer, rootcertbundle=self.cert_path
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/token", self._token)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        logger.info("token server: serving on %s", self.realm)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _token(self, request: web.Request) -> web.Response:
        user = self._authenticate(request.headers.get("Authorization", ""))
        scopes = request.query.getall("scope", [])
        access = requested_access(scopes) if user else []
        token = self.issue(subject=user or "", access=access)
        return web.json_response({"token": token, "access_token": token, "expires_in": TOKEN_SECONDS})

    def _authenticate(self, header: str) -> str | None:
        """The user name; None for anonymous; 401 for wrong credentials."""
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as e:
            raise web.HTTPUnauthorized(text="malformed credentials") from e
        known = self.users.get(user)
        if scheme.lower() != "basic" or known is None or not hmac.compare_digest(known, password):
            raise web.HTTPUnauthorized(text="invalid credentials")
        return user

    def issue(self, *, subject: str, access: list[dict[str, Any]]) -> str:
        """A signed token with the claims distribution 2.8 verifies (iss, aud, exp, nbf, access)."""
        self.issued += 1
        now = int(datetime.datetime.now(datetime.UTC).timestamp())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + TOKEN_SECONDS,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self._kid})


@contextlib.asynccontextmanager
async def running_token_server(
    users: Mapping[str, str], *, directory: Path, service: str = "kiln-registry"
) -> AsyncIterator[TokenServer]:
    """A started :class:`TokenServer` for the length of a ``with`` block."""
    server = TokenServer(users, directory=directory, service=service)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
