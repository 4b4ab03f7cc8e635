"""WeChat's wire envelope: signature and timestamp checks, AES safe mode (through wechatpy), DTD-free XML."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from assistant.errors import ConfigError, Forbidden, InvalidInput

AES = "aes"


@dataclass(frozen=True)
class Opened:
    """A verified inbound message: its plain XML and what sealing the reply needs."""

    xml: str
    msg_type: str  # lower-case MsgType, also for types wechatpy does not know
    encrypted: bool
    nonce: str


def parse_safely(text: str) -> Element:
    """Parse XML refusing DOCTYPE and entity declarations (no entity expansion, no external references)."""
    try:
        root: Element = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise InvalidInput("XML with a DOCTYPE or entity declarations is not accepted") from None
    except ParseError:
        raise InvalidInput("malformed XML") from None
    if root.tag != "xml":
        raise InvalidInput("a WeChat message is an <xml> document")
    return root


class WeChatEnvelope:
    """Verifies and opens what WeChat sends, and seals passive replies (plain or AES safe mode)."""

    def __init__(
        self,
        token: str,
        *,
        aes_key: str = "",
        app_id: str = "",
        tolerance_seconds: float = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token = token
        self._tolerance = tolerance_seconds
        self.clock = clock
        self._crypto: WeChatCrypto | None = None
        if aes_key:
            if not app_id:
                raise ConfigError("AES safe mode needs ASSISTANT_WECHAT_APP_ID as well as ASSISTANT_WECHAT_AES_KEY")
            try:
                self._crypto = WeChatCrypto(token, aes_key, app_id)
            except Exception as exc:  # wechatpy asserts on the key length and raises on bad base64
                raise ConfigError("ASSISTANT_WECHAT_AES_KEY must be the 43-character EncodingAESKey") from exc

    def verify(self, params: Mapping[str, str]) -> None:
        """Check `signature` over token, timestamp and nonce, and that the timestamp is recent; else Forbidden."""
        signature, timestamp, nonce = (params.get(k, "") for k in ("signature", "timestamp", "nonce"))
        if not (signature and timestamp and nonce):
            raise Forbidden("missing WeChat signature parameters")
        try:
            check_signature(self._token, signature, timestamp, nonce)
        except InvalidSignatureException:
            raise Forbidden("invalid WeChat signature") from None
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise Forbidden("invalid WeChat timestamp") from None
        if abs(self.clock() - sent_at) > self._tolerance:
            raise Forbidden("stale WeChat request: the timestamp is outside the accepted window")

    def echo(self, params: Mapping[str, str]) -> str:
        """Answer WeChat's URL verification: the `echostr` of a correctly signed request."""
        self.verify(params)
        return params.get("echostr", "")

    def open(self, params: Mapping[str, str], body: bytes) -> Opened:
        """Verify the request and return the plain message XML (decrypted in safe mode)."""
        self.verify(params)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("the body is not UTF-8") from None
        root = parse_safely(text)
        nonce = params.get("nonce", "")
        if params.get("encrypt_type", "raw").lower() != AES:
            return Opened(text, _msg_type(root), False, nonce)
        if self._crypto is None:
            raise InvalidInput("encrypted message received but ASSISTANT_WECHAT_AES_KEY is not configured")
        encrypted = root.findtext("Encrypt") or ""
        msg_signature = params.get("msg_signature", "")
        if not (encrypted and msg_signature):
            raise Forbidden("safe mode needs msg_signature and an <Encrypt> element")
        try:
            inner = self._crypto.decrypt_message({"Encrypt": encrypted}, msg_signature, params["timestamp"], nonce)
        except InvalidSignatureException:
            raise Forbidden("invalid WeChat msg_signature") from None
        except InvalidAppIdException:
            raise Forbidden("the message was encrypted for another AppID") from None
        except Exception:  # bad base64, padding or length: not something WeChat sends
            raise InvalidInput("the encrypted message could not be decrypted") from None
        # The decrypted document gets the same DTD check before wechatpy parses it.
        return Opened(str(inner), _msg_type(parse_safely(str(inner))), True, nonce)

    def seal(self, opened: Opened, reply_xml: str) -> str:
        """The reply as WeChat expects it: encrypted and signed when the request was, else as is."""
        if not reply_xml or not opened.encrypted or self._crypto is None:
            return reply_xml
        return str(self._crypto.encrypt_message(reply_xml, opened.nonce, str(int(self.clock()))))


def _msg_type(root: Element) -> str:
    return (root.findtext("MsgType") or "").strip().lower()
