"""Voice messages: a bound 一喊就来 seeker's voice in chat is a call for help (manual part 4 §三.1).

The request is created and announced in the callback's transaction; the audio is a media item, fetched
by the one media job after commit, so the reply goes back at once.  Replies are short, warm and plain.
"""

from __future__ import annotations

from models import RuleViolation
from models import help_request as hr
from models.help_seeker import seeker_for

from .context import compose, link
from .router import router


@router.route("voice")
def on_voice(incoming):
    seeker = seeker_for(incoming.account, incoming.openid)
    if seeker is None:
        if incoming.bound:
            return "语音已收到。如需帮助老人发起“一喊就来”求助，请在老人的微信上绑定后使用。"
        return compose("您好！需要帮助的老人第一次使用，请先{bind}，以后按住说话就能求助。",
                       bind=link(incoming.page_url("help"), "点这里绑定身份证和手机号"))
    tz = incoming.settings.app.timezone
    try:
        request, note, is_new = hr.call_for_help(seeker, incoming.message.media_id, hr.CHAT, incoming.account,
                                                 now=incoming.now, tz=tz)
    except RuleViolation as exc:
        return exc.message
    if is_new:
        return "收到了！已经通知您的结对志愿者，请您放心，志愿者会尽快联系您。"
    return "收到了！您刚才说的话已经一起转给志愿者了，请您稍等。"
