"""The repo's nginx template renders and passes `nginx -t` (Debian's nginx, as in CI)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATE = Path(settings.BASE_DIR) / "nginx" / "tinyteamsticket.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def render(values: dict[str, str]) -> str:
    """envsubst for ${NAME} only: nginx's own $variables stay as they are."""
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text


@pytest.mark.skipif(not os.path.exists(NGINX) and os.environ.get("CI") != "true", reason="nginx not installed")
def test_rendered_config_passes_nginx_t(tmp_path):
    values = {
        "NGINX_LISTEN": "127.0.0.1:18080",
        "NGINX_SERVER_NAME": "localhost",
        "APP_UPSTREAM": "127.0.0.1:18000",
        "STATIC_ROOT": str(tmp_path / "static"),
        "ATTACHMENT_ROOT": str(tmp_path / "attachments"),
        "CLIENT_MAX_BODY_SIZE": "60m",
    }
    server = render(values)
    left = re.findall(
        r"\$\{[A-Z_]+\}", "\n".join(line for line in server.splitlines() if not line.lstrip().startswith("#"))
    )
    assert left == [], f"not rendered: {left}"
    (tmp_path / "logs").mkdir()
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\nevents {{}}\n"
        f"http {{\n include /etc/nginx/mime.types;\n access_log off;\n"
        f" client_body_temp_path {tmp_path}/body;\n proxy_temp_path {tmp_path}/proxy;\n"
        f" fastcgi_temp_path {tmp_path}/fcgi;\n uwsgi_temp_path {tmp_path}/uwsgi;\n scgi_temp_path {tmp_path}/scgi;\n"
        f"{server}\n}}\n"
    )

    result = subprocess.run([NGINX, "-t", "-c", str(main), "-p", str(tmp_path)], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert "protected-attachments" in server and "internal;" in server
