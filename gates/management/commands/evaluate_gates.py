"""manage.py evaluate_gates [--if-never]: evaluate every scheduled gate for every active release now."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from gates import selectors, services
from gates.models import GateEvaluation


class Command(BaseCommand):
    help = (
        "Evaluate every active gate that is evaluated on schedule, for every active release of its project "
        "(what Celery beat does every six hours)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")
        parser.add_argument(
            "--if-never",
            action="store_true",
            help="Do nothing when any gate has been evaluated before (used by `make run`).",
        )

    def handle(self, *args, no_progress=False, if_never=False, **options):
        if if_never and GateEvaluation.objects.exists():
            self.stdout.write("Gates have been evaluated before; nothing to do.")
            return
        total = len(selectors.scheduled_gate_pairs())
        with tqdm(total=total, unit="evaluation", disable=no_progress, desc="gates") as bar:
            done = services.gates_evaluate_scheduled(on_each=lambda: bar.update(1))
        refused = total - done
        self.stdout.write(
            self.style.SUCCESS(f"Evaluated {done} gate(s) for active releases")
            + (f"; {refused} refused (see the log)." if refused else ".")
        )
