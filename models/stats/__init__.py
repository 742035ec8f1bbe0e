"""志愿数据统计: the roll-ups per (org, period) and per (volunteer, period), and the reads over them.

Manual part 2 §三.8, §三.20 (图2-28, 图2-29, 图2-56 … 图2-59), part 3 排行榜.  ``tables`` holds the
rolled-up rows, ``periods`` the period keys, ``rollup`` keeps them in step with the records (called
in the transaction that counts or cancels a cycle, approves or ends a membership, or validates a
project), ``recount`` computes the same figures straight from the records (the check, the rebuild and
the bench's baseline), ``reads`` and ``rankings`` answer the pages.  Import the modules by name.
"""
