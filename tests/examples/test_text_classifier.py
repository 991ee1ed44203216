"""examples/text_classifier.py trains on its generated corpus and reloads its model."""
import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_text_classifier_example_learns_the_generated_corpus(capsys):
    spec = importlib.util.spec_from_file_location(
        "text_classifier", os.path.join(ROOT, "examples", "text_classifier.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    accuracy = module.main(["--lines", "150", "--epochs", "4"])
    out = capsys.readouterr().out
    assert accuracy > 0.9, out
    assert "vocabulary:" in out and "test accuracy" in out
