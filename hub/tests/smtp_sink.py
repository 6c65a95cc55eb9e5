"""A real SMTP server on loopback for the reminder tests (aiosmtpd, Debian python3-aiosmtpd).

Usage: smtp_sink.py PORT DIR [CERT KEY]. Prints "ready" once it listens on 127.0.0.1:PORT; with
a certificate and key (PEM) it requires STARTTLS before mail is taken. Each message it
accepts becomes DIR/<n>.json with the envelope and the message parsed by Python's email package
(subject and text body decoded), written whole through a rename so a reader never sees half.
"""

import asyncio
import ssl
import email
import email.policy
import json
import os
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_to": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "content_type": message.get_content_type(),
            "charset": message.get_content_charset(),
            "text": body.get_content() if body is not None else "",
        }
        self.count += 1
        path = os.path.join(self.directory, f"{self.count:04}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as out:
            json.dump(record, out, ensure_ascii=False)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


async def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    sink = Sink(directory)
    tls = {}
    if len(sys.argv) == 5:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        tls = {"tls_context": context, "require_starttls": True}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.test", **tls), "127.0.0.1", port
    )
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
