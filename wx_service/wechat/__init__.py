"""The WeChat protocol: the callback, web OAuth, JS-SDK signing, the API client, follower cards, binding.

Everything here speaks WeChat's side of a conversation; what the service *does* with a message lives
in ``handlers/``, the mobile pages in ``wx_service/pages/``.
"""
