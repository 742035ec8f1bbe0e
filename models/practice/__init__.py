"""新时代文明实践 (manual part 4): places, the five lists (五单), plans, targets and statistics.

``tables`` holds the rows and their states; ``places``, ``place_photos``, ``needs``, ``plans``, ``orders``,
``projects`` and ``targets`` the rules that change them; ``stats`` the read-model of 场所数据统计, ``gallery``
the 风采 of a centre.
"""

from .tables import Need, Order, Place, PlacePhoto, Plan, PracticeLog, PracticeProject, Target

__all__ = ["Need", "Order", "Place", "PlacePhoto", "Plan", "PracticeLog", "PracticeProject", "Target"]
