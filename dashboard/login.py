"""The dashboard's login gate.

The dashboard reads the collector with a server-side key (`SPANSCOPE_API_KEY`), so whoever opens
it reads what that key may read. When the collector requires keys the dashboard therefore requires
a login: single sign-on through Streamlit's OIDC support (`st.login`) when secrets.toml has an
`[auth]` section, or a shared password (`SPANSCOPE_DASHBOARD_PASSWORD`). With a key and neither of
the two, it refuses to show anything rather than be open by mistake.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time

import streamlit as st

PASSWORD_ENV = "SPANSCOPE_DASHBOARD_PASSWORD"
_SESSION_KEY = "spanscope_login"
FAILED_LOGIN_DELAY_S = 1.0


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _password_digest() -> bytes | None:
    """Digest of the configured password; compared digest to digest, in constant time."""
    password = os.environ.get(PASSWORD_ENV, "")
    return _digest(password) if password else None


def oidc_configured() -> bool:
    try:
        auth = st.secrets.get("auth")
    except Exception:  # no secrets.toml at all
        return False
    return bool(auth)


def login_required() -> bool:
    return bool(os.environ.get("SPANSCOPE_API_KEY", "").strip() or _password_digest() or oidc_configured())


def check_password(candidate: str) -> bool:
    expected = _password_digest()
    return expected is not None and hmac.compare_digest(_digest(candidate), expected)


def _logged_in_user() -> str | None:
    user = st.session_state.get(_SESSION_KEY)
    if user:
        return str(user)
    if oidc_configured() and st.user.is_logged_in:
        return str(st.user.get("email") or st.user.get("name") or "signed in")
    return None


def _logout() -> None:
    was_oidc = st.session_state.pop(_SESSION_KEY, None) is None
    if was_oidc and oidc_configured():
        st.logout()


def _submit_password() -> None:
    """Runs as the form's callback, before the script, so the result survives any rerun."""
    candidate = str(st.session_state.pop("spanscope_password", "") or "")
    if check_password(candidate):
        st.session_state[_SESSION_KEY] = "password"
    else:
        time.sleep(FAILED_LOGIN_DELAY_S)  # slows guessing
        st.session_state["spanscope_login_failed"] = True


def require_login() -> None:
    """Shows the login form and stops the run until the visitor is logged in (when one is needed)."""
    if not login_required():
        return
    user = _logged_in_user()
    if user is not None:
        with st.sidebar:
            st.caption(f"Signed in as {user}")
            st.button("Log out", on_click=_logout, key="spanscope_logout")
        return
    st.title("spanscope")
    oidc, password = oidc_configured(), _password_digest() is not None
    if not oidc and not password:
        st.error(
            "**This dashboard needs a login.** It reads the collector with an API key, so set "
            f"`{PASSWORD_ENV}` or configure single sign-on (`[auth]` in `.streamlit/secrets.toml`).",
            icon=":material/lock:",
        )
        st.stop()
    if oidc:
        st.button("Log in with single sign-on", on_click=st.login, type="primary", key="spanscope_sso")
    if password:
        with st.form("spanscope_login_form"):
            st.text_input("Password", type="password", key="spanscope_password")
            st.form_submit_button("Log in", on_click=_submit_password)
        if st.session_state.pop("spanscope_login_failed", False):
            st.error("Wrong password.", icon=":material/lock:")
    st.stop()
