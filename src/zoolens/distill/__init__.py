"""Knowledge distillation in miniature (SAT paper Sec. 5.2, App. E, App. F.1; ``docs/distillation.md``).

One ViT student recipe is trained by *hard* distillation (the teacher's argmax labels only) from
each of several teachers; each teacher's SAT with the student architecture's baseline model is
measured with the SAT machinery of :mod:`zoolens.similarity`. ``zoolens analyze`` then relates
SAT and teacher accuracy to the students' accuracy (Fig. 11a-c, Fig. F.1).
"""

from zoolens.distill.config import DistillConfig, TEACHER_PRESET, student_recipe
from zoolens.distill.run import run_distill

__all__ = ["DistillConfig", "TEACHER_PRESET", "run_distill", "student_recipe"]
