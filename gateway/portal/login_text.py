"""Every string of the login, logout and delegated-login pages, in English and Simplified Chinese."""
# ruff: noqa: RUF001 - Chinese text uses full-width punctuation on purpose

from __future__ import annotations

from typing import Final

from starlette.requests import Request

from consent.user_api import LANGUAGES, language

TEXT: Final[dict[str, dict[str, str]]] = {
    "en": {
        "title": "Log in",
        "heading": "Log in to your bank",
        "username": "User name",
        "password": "Password",
        "submit": "Log in",
        "switch_label": "中文",
        "switch_lang": "zh",
        "wrong_credentials": "The user name or password is wrong.",
        "throttled": "Too many failed logins; try again in {minutes} minute(s).",
        "unavailable": "Logging in is unavailable for a moment; please try again shortly.",
        "retry_title": "Please try again",
        "form_expired": "This form has expired or did not come from this site. Please log in again.",
        "logout_expired": "This form has expired or did not come from this site; you are still logged in.",
        "log_in_again": "Log in again",
        "delegated_title": "Log in at your bank",
        "delegated_only": "This bank uses its own login page.",
        "not_completed_title": "Login not completed",
        "not_completed": "This login link has expired, was already used, or was opened in another browser.",
        "start_again": "Start again",
        "refused_title": "Login refused",
        "refused": "Your bank did not log you in: {reason}",
        "try_again": "Try again",
    },
    "zh": {
        "title": "登录",
        "heading": "登录您的银行",
        "username": "用户名",
        "password": "密码",
        "submit": "登录",
        "switch_label": "English",
        "switch_lang": "en",
        "wrong_credentials": "用户名或密码错误。",
        "throttled": "登录失败次数过多，请在 {minutes} 分钟后重试。",
        "unavailable": "登录暂时不可用，请稍后再试。",
        "retry_title": "请重试",
        "form_expired": "此表单已过期，或并非来自本网站。请重新登录。",
        "logout_expired": "此表单已过期，或并非来自本网站；您仍处于登录状态。",
        "log_in_again": "重新登录",
        "delegated_title": "请在您的银行登录",
        "delegated_only": "本银行使用自己的登录页面。",
        "not_completed_title": "登录未完成",
        "not_completed": "此登录链接已过期、已被使用，或是在另一个浏览器中打开的。",
        "start_again": "重新开始",
        "refused_title": "登录被拒绝",
        "refused": "您的银行未让您登录：{reason}",
        "try_again": "重试",
    },
}


def page_language(request: Request, chosen: str | None = None) -> str:
    """``chosen`` (the page's language switch) when supported, else the browser's Accept-Language."""
    if chosen in LANGUAGES:
        return str(chosen)
    lang = request.query_params.get("lang")
    return lang if lang in LANGUAGES else language(request.headers.get("accept-language"))


def text(lang: str, key: str, **values: object) -> str:
    return TEXT.get(lang, TEXT["en"])[key].format(**values)
