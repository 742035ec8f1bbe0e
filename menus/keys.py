"""CLICK and scancode keys used in the menus; handlers route on them."""

MY_QRCODE = "MY_QRCODE"
CONTACT = "CONTACT"
DEMAND = "DEMAND"
ORDER = "ORDER"
SCAN_CHECKIN = "SCAN_CHECKIN"
