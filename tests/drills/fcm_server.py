"""The fake FCM (tests/notifications/fake_fcm.py) as a process for the drills: writes its settings to
argv[1] (JSON) and appends one line per push it receives to argv[2] (`<unix time> <token>`), after an
optional per-push delay (FAKE_FCM_DELAY seconds) so a batch is still in flight when a fault hits."""

import json
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.notifications.fake_fcm import FakeFcm

DELAY = float(os.getenv("FAKE_FCM_DELAY", "0"))


def main() -> None:
    settings_file, log_file = sys.argv[1], sys.argv[2]
    server = FakeFcm()
    handler = server.server.RequestHandlerClass
    original = handler.do_POST
    log = open(log_file, "a", buffering=1)

    def do_post(self):
        if "messages:send" in self.path:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            token = json.loads(raw or b"{}").get("message", {}).get("token", "")
            log.write(f"{time.time():.6f} {token}\n")  # the moment the push reached the provider
            time.sleep(DELAY)
            self.rfile = __import__("io").BytesIO(raw)
        return original(self)

    handler.do_POST = do_post
    server.start()
    Path(settings_file).write_text(json.dumps(server.settings_env(timeout=5)))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
