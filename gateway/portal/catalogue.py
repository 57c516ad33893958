"""Every string of the dashboard, consent detail and authorization pages, in English and Simplified Chinese.

Templates get ``t`` (a ``Text`` for the page's language) and call ``t("key", name=value)``; a
missing key raises ``KeyError``, so an untranslated string fails the page's tests instead of
showing a key. ``CATALOGUE["en"]`` and ``CATALOGUE["zh"]`` must have the same keys (tested).
The language is the page's ``?lang=`` switch, else the ``wg_lang`` cookie set by
``/language``, else the browser's ``Accept-Language``.
"""
# ruff: noqa: RUF001 - Chinese text uses full-width punctuation on purpose

from __future__ import annotations

from datetime import datetime
from typing import Final

from starlette.requests import Request

from consent.user_api import LANGUAGES, language

LANG_COOKIE = "wg_lang"

CATALOGUE: Final[dict[str, dict[str, str]]] = {
    "en": {
        "switch_label": "中文",
        "switch_lang": "zh",
        "switch_name": "Read this page in Chinese",
        "log_out": "Log out",
        "skip": "Skip to the main content",
        # dashboard
        "dashboard_title": "Your connected apps",
        "dashboard_intro": "These apps can see some of your account data because you agreed. You can pause, "
        "narrow or stop any of them here.",
        "filters": "Filter",
        "filter_status": "Status",
        "filter_wallet": "App",
        "filter_any": "All",
        "filter_apply": "Show",
        "empty_title": "No connected apps yet",
        "empty_text": "When you let an app (a wallet or budgeting app) see your account data, it will be listed "
        "here: what it can see, why, for how long, and when it last looked. You can then pause or stop it.",
        "empty_filtered": "No consents match this filter.",
        "show_all": "Show all",
        "wallet_heading": "{wallet}",
        "consent_for": "Consent for {purposes}",
        "status": "Status",
        "purpose": "Why",
        "data": "What it can see",
        "accounts": "Accounts",
        "granted_on": "Granted on",
        "expires_on": "Expires on",
        "last_accessed": "Last accessed",
        "never": "Never",
        "no_expiry": "Until you stop it",
        "no_accounts": "None",
        "recipients": "Passed on to",
        "recipient": "{name} ({kind})",
        "recipient_credit_bureau": "a credit reference agency",
        "recipient_lender": "a lender",
        "view_details": "Details and changes",
        "view_details_for": "Details and changes for {wallet}, {purposes}",
        # statuses
        "status_AWAU": "Waiting for your approval",
        "status_AUTH": "Active",
        "status_PAUS": "Paused",
        "status_RJCT": "Rejected",
        "status_CANC": "Stopped",
        "status_EXPD": "Expired",
        # detail
        "detail_title": "{wallet}: what it can see",
        "back": "Back to your connected apps",
        "summary": "Summary",
        "history_window": "Transaction history",
        "marketing": "Offers and marketing",
        "marketing_yes": "You agreed separately",
        "marketing_no": "Not agreed",
        "receipt": "Download the signed receipt",
        "receipt_help": "A record of this consent signed by your bank, for your files.",
        "changes": "Change this consent",
        "pause": "Pause access",
        "pause_help": "The app cannot read anything until you resume. Nothing else changes.",
        "resume": "Resume access",
        "resume_help": "The app can read again what this consent allows.",
        "narrow": "Share less",
        "narrow_help": "Untick what the app should no longer see, then save. You cannot add to a consent here; "
        "the app must ask again.",
        "narrow_accounts": "Accounts it may see",
        "narrow_data": "Data it may see",
        "narrow_save": "Save what it may see",
        "revoke": "Stop access",
        "revoke_help": "The app stops seeing your data for good.",
        "no_changes": "This consent can no longer be changed.",
        "events": "What happened",
        "events_none": "Nothing has happened yet.",
        "event_when": "When",
        "event_what": "What",
        "event_who": "Who",
        "event_created": "Requested by the app",
        "event_authorised": "Granted",
        "event_rejected": "Rejected",
        "event_paused": "Paused",
        "event_resumed": "Resumed",
        "event_amended": "Narrowed",
        "event_revoked": "Stopped",
        "event_expired": "Expired",
        "actor_user": "You ({who})",
        "actor_wallet": "The app ({who})",
        "actor_bank": "Your bank ({who})",
        "actor_system": "WalletGate",
        "access": "What the app read",
        "access_none": "The app has not read any data with this consent yet.",
        "access_when": "When",
        "access_what": "What",
        "access_records": "Records",
        "access_result": "Result",
        "access_shared": "Shared",
        "access_shared_in_part": "Shared in part: the transfer was cut off",
        "access_refused": "Refused ({status})",
        "access_records_unknown": "—",
        "done_paused": "Access is paused. The app cannot read your data until you resume.",
        "done_resumed": "Access is resumed.",
        "done_amended": "Saved. The app now sees only what is ticked.",
        "done_revoked": "Access is stopped. The app can no longer see your data.",
        "problem": "That change was not made: {message}",
        # revoke confirmation
        "revoke_title": "Stop {wallet} seeing your data?",
        "revoke_lead": "If you stop access:",
        "revoke_point_new": "{wallet} will not see any new data from your accounts, from now on.",
        "revoke_point_held": "Data {wallet} has already read is governed by its own terms. You can ask it to "
        "delete that data.",
        "revoke_point_final": "This cannot be undone. To share again, the app must ask you again.",
        "revoke_confirm": "Yes, stop access",
        "revoke_cancel": "No, keep it",
        # errors
        "not_found_title": "Consent not found",
        "not_found": "There is no consent with this id among yours.",
        "form_expired_title": "Please try again",
        "form_expired": "This form has expired or did not come from this site. Nothing was changed.",
        "unavailable_title": "Unavailable",
        "unavailable": "Your consents cannot be shown at the moment. Please try again shortly.",
        # authorization screen
        "auth_title": "{wallet} asks to see some of your account data",
        "auth_wallet_what": "{wallet} is an app registered with your bank to read account data with your "
        "permission (registered on {registered}). Your bank verified who runs it; it does not vouch for "
        "the app itself.",
        "auth_what": "What {wallet} will see",
        "auth_why": "Why",
        "auth_recipients": "Who else gets your data",
        "auth_recipients_help": "{wallet} will pass the data it reads on to:",
        "auth_how_long": "For how long",
        "auth_history": "How far back",
        "auth_until": "Until {date} ({days} days), unless you withdraw it sooner",
        "auth_forever": "Until you withdraw it",
        "auth_history_all": "All the history your bank holds",
        "auth_history_from": "From {start} onwards",
        "auth_history_to": "Up to {end}",
        "auth_history_between": "From {start} to {end}",
        "auth_history_none": "No transaction history",
        "auth_accounts": "Choose the accounts to share",
        "auth_accounts_help": "None is chosen for you. Tick each account {wallet} may see.",
        "auth_accounts_none": "You have no accounts that can be shared.",
        "auth_account_ending": "ending {ending}",
        "auth_marketing": "A separate question: offers and marketing",
        "auth_marketing_label": "I also agree that {wallet} may use this data for: {purposes}",
        "auth_marketing_help": "This is optional. Leave it unticked to share only for the reasons above.",
        "auth_approve": "Approve",
        "auth_reject": "Reject",
        "auth_choices": "Your decision",
        "auth_dashboard": "You can see, pause and stop this access at any time in your consent dashboard.",
        "auth_choose_account": "Choose at least one of your accounts to share, or reject the request.",
        "auth_failure_title": "We cannot continue with this request",
        "auth_failure_help": "Nothing was shared. Go back to the app you came from and try again.",
    },
    "zh": {
        "switch_label": "English",
        "switch_lang": "en",
        "switch_name": "以英文阅读此页",
        "log_out": "退出登录",
        "skip": "跳到主要内容",
        "dashboard_title": "已连接的应用",
        "dashboard_intro": "您已同意这些应用查看您的部分账户数据。您可以在此暂停、缩小或停止任何一项授权。",
        "filters": "筛选",
        "filter_status": "状态",
        "filter_wallet": "应用",
        "filter_any": "全部",
        "filter_apply": "显示",
        "empty_title": "尚未连接任何应用",
        "empty_text": "当您允许某个应用（钱包或记账应用）查看您的账户数据后，它会显示在这里："
        "它能看到什么、用途、期限，以及最近一次查看的时间。之后您可以暂停或停止它。",
        "empty_filtered": "没有符合此筛选条件的授权。",
        "show_all": "显示全部",
        "wallet_heading": "{wallet}",
        "consent_for": "用途：{purposes}",
        "status": "状态",
        "purpose": "用途",
        "data": "可查看的数据",
        "accounts": "账户",
        "granted_on": "授权日期",
        "expires_on": "到期日期",
        "last_accessed": "最近访问",
        "never": "从未",
        "no_expiry": "直到您停止",
        "no_accounts": "无",
        "recipients": "转交给",
        "recipient": "{name}（{kind}）",
        "recipient_credit_bureau": "征信机构",
        "recipient_lender": "贷款机构",
        "view_details": "详情与更改",
        "view_details_for": "{wallet}（{purposes}）的详情与更改",
        "status_AWAU": "等待您的批准",
        "status_AUTH": "有效",
        "status_PAUS": "已暂停",
        "status_RJCT": "已拒绝",
        "status_CANC": "已停止",
        "status_EXPD": "已过期",
        "detail_title": "{wallet}：可查看的内容",
        "back": "返回已连接的应用",
        "summary": "概要",
        "history_window": "交易记录范围",
        "marketing": "优惠和营销",
        "marketing_yes": "您已单独同意",
        "marketing_no": "未同意",
        "receipt": "下载已签名的凭证",
        "receipt_help": "由您的银行签名的此项授权记录，供您存档。",
        "changes": "更改此授权",
        "pause": "暂停访问",
        "pause_help": "在您恢复之前，该应用无法读取任何数据。其他内容不变。",
        "resume": "恢复访问",
        "resume_help": "该应用可以再次读取此授权允许的数据。",
        "narrow": "减少共享",
        "narrow_help": "取消勾选该应用不应再看到的内容，然后保存。此处无法扩大授权；应用必须重新申请。",
        "narrow_accounts": "可查看的账户",
        "narrow_data": "可查看的数据",
        "narrow_save": "保存可查看的内容",
        "revoke": "停止访问",
        "revoke_help": "该应用将永久无法再看到您的数据。",
        "no_changes": "此授权已无法更改。",
        "events": "发生了什么",
        "events_none": "尚无任何记录。",
        "event_when": "时间",
        "event_what": "事件",
        "event_who": "操作者",
        "event_created": "应用发起申请",
        "event_authorised": "已授权",
        "event_rejected": "已拒绝",
        "event_paused": "已暂停",
        "event_resumed": "已恢复",
        "event_amended": "已缩小",
        "event_revoked": "已停止",
        "event_expired": "已过期",
        "actor_user": "您（{who}）",
        "actor_wallet": "应用（{who}）",
        "actor_bank": "您的银行（{who}）",
        "actor_system": "WalletGate 系统",
        "access": "应用读取了什么",
        "access_none": "该应用尚未通过此授权读取任何数据。",
        "access_when": "时间",
        "access_what": "内容",
        "access_records": "记录数",
        "access_result": "结果",
        "access_shared": "已共享",
        "access_shared_in_part": "部分共享：传输中断",
        "access_refused": "已拒绝（{status}）",
        "access_records_unknown": "—",
        "done_paused": "访问已暂停。在您恢复之前，该应用无法读取您的数据。",
        "done_resumed": "访问已恢复。",
        "done_amended": "已保存。该应用现在只能看到已勾选的内容。",
        "done_revoked": "访问已停止。该应用无法再看到您的数据。",
        "problem": "未进行此更改：{message}",
        "revoke_title": "停止 {wallet} 查看您的数据？",
        "revoke_lead": "如果您停止访问：",
        "revoke_point_new": "从现在起，{wallet} 将无法看到您账户中的任何新数据。",
        "revoke_point_held": "{wallet} 已读取的数据受其自身条款约束。您可以要求它删除这些数据。",
        "revoke_point_final": "此操作无法撤销。若要再次共享，应用必须重新向您申请。",
        "revoke_confirm": "是，停止访问",
        "revoke_cancel": "不，保留",
        "not_found_title": "未找到授权",
        "not_found": "您的授权中没有此编号。",
        "form_expired_title": "请重试",
        "form_expired": "此表单已过期，或并非来自本网站。未做任何更改。",
        "unavailable_title": "暂不可用",
        "unavailable": "暂时无法显示您的授权，请稍后再试。",
        "auth_title": "{wallet} 申请查看您的部分账户数据",
        "auth_wallet_what": "{wallet} 是在您的银行登记的应用，经您许可后可读取账户数据（登记于 {registered}）。"
        "您的银行核实了其运营方，但不为应用本身担保。",
        "auth_what": "{wallet} 将看到的内容",
        "auth_why": "用途",
        "auth_recipients": "还有谁会得到您的数据",
        "auth_recipients_help": "{wallet} 会把读取到的数据转交给：",
        "auth_how_long": "期限",
        "auth_history": "交易记录范围",
        "auth_until": "至 {date}（{days} 天），除非您提前停止",
        "auth_forever": "直到您停止",
        "auth_history_all": "您的银行保存的全部记录",
        "auth_history_from": "自 {start} 起",
        "auth_history_to": "截至 {end}",
        "auth_history_between": "{start} 至 {end}",
        "auth_history_none": "不含交易记录",
        "auth_accounts": "选择要共享的账户",
        "auth_accounts_help": "默认未选择任何账户。请勾选 {wallet} 可以查看的每个账户。",
        "auth_accounts_none": "您没有可共享的账户。",
        "auth_account_ending": "尾号 {ending}",
        "auth_marketing": "另一个问题：优惠和营销",
        "auth_marketing_label": "我也同意 {wallet} 将这些数据用于：{purposes}",
        "auth_marketing_help": "此项为可选。不勾选则仅为上述用途共享。",
        "auth_approve": "批准",
        "auth_reject": "拒绝",
        "auth_choices": "您的决定",
        "auth_dashboard": "您可以随时在授权管理页面查看、暂停或停止此访问。",
        "auth_choose_account": "请至少选择一个要共享的账户，或拒绝此申请。",
        "auth_failure_title": "无法继续处理此申请",
        "auth_failure_help": "未共享任何内容。请返回您来自的应用并重试。",
    },
}

_DATE_FORMAT = {"en": "%-d %B %Y", "zh": "%Y年%-m月%-d日"}
_TIME_FORMAT = {"en": "%-d %b %Y, %H:%M UTC", "zh": "%Y年%-m月%-d日 %H:%M（UTC）"}


def page_language(request: Request, chosen: str | None = None) -> str:
    """``chosen`` or ``?lang=`` when supported, else the ``wg_lang`` cookie, else ``Accept-Language``."""
    for candidate in (chosen, request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return str(candidate)
    return language(request.headers.get("accept-language"))


class Text:
    """The catalogue of one language, callable from templates: ``t("key", wallet=name)``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in CATALOGUE else "en"
        self._strings = CATALOGUE[self.lang]

    def __call__(self, key: str, **values: object) -> str:
        return self._strings[key].format(**values) if values else self._strings[key]

    def has(self, key: str) -> bool:
        return key in self._strings

    def date(self, value: datetime | None) -> str:
        return value.strftime(_DATE_FORMAT[self.lang]) if value is not None else ""

    def time(self, value: datetime | None) -> str:
        return value.strftime(_TIME_FORMAT[self.lang]) if value is not None else ""
