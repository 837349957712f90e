"""Other similarity measures, compared with SAT on the same images and models (docs/measures.md).

One small module per measure (pure functions: arrays in, numbers out), plus the ``measures``
experiment that runs them on a zoo: :mod:`.cka`, :mod:`.agreement`, :mod:`.boundary`,
:mod:`.tramer`, :mod:`.features`; :mod:`.config`, :mod:`.units`, :mod:`.pairs`,
:mod:`.experiment`, :mod:`.run`.
"""
