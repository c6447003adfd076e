import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from molssl.eval.probe import embed, fit_linear_probe, knn_accuracy, knn_predict, linear_probe, pixels, probe
from molssl.vision.data import ImageSource, open_image_source


def naive_knn(bank, bank_labels, queries, num_classes, k, temperature):
    """Weighted kNN by plain loops: cosine similarity, k most similar, votes exp(s / T)."""
    out = []
    for q in queries.tolist():
        sims = []
        for b, label in zip(bank.tolist(), bank_labels.tolist()):
            dot = sum(x * y for x, y in zip(q, b))
            sims.append((dot / (math.sqrt(sum(x * x for x in q)) * math.sqrt(sum(y * y for y in b))), label))
        sims.sort(key=lambda t: -t[0])
        votes = [0.0] * num_classes
        for s, label in sims[:k]:
            votes[label] += math.exp(s / temperature)
        out.append(votes)
    return torch.tensor(out)


@pytest.mark.parametrize("k", [1, 5, 200])
def test_knn_matches_a_naive_loop(k):
    g = torch.Generator().manual_seed(0)
    bank, queries = torch.randn(40, 6, generator=g), torch.randn(9, 6, generator=g)
    labels = torch.randint(0, 4, (40,), generator=g)
    scores = knn_predict(bank, labels, queries, 4, k=k, temperature=0.07, chunk_size=4)
    expected = naive_knn(bank, labels, queries, 4, k, 0.07)
    torch.testing.assert_close(scores, expected, rtol=1e-4, atol=0)


def test_knn_accuracy_on_separable_clusters():
    g = torch.Generator().manual_seed(1)
    centers = torch.eye(3) * 5
    labels = torch.arange(3).repeat(20)
    points = centers[labels] + torch.randn(60, 3, generator=g)
    assert knn_accuracy(points[:45], labels[:45], points[45:], labels[45:], k=5) == 1.0
    with pytest.raises(ValueError, match="int64"):
        knn_accuracy(points, labels.float(), points, labels)


def test_linear_probe_matches_sklearn_logistic_regression():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(120, 5, generator=g) * torch.tensor([1.0, 3.0, 0.5, 2.0, 1.0]) + 2
    y = (x[:, 0] + 0.3 * x[:, 1] + 0.5 * torch.randn(120, generator=g) > 2.5).long() + (x[:, 3] > 3).long()
    l2 = 0.01
    fitted = fit_linear_probe(x, y, 3, l2=l2, max_iter=500)
    z = ((x.double() - x.double().mean(0)) / x.double().std(0, unbiased=False)).numpy()
    reference = LogisticRegression(C=1 / (l2 * 120), tol=1e-10, max_iter=10_000).fit(z, y.numpy())
    ours = torch.softmax(fitted.logits(x.double()), 1).numpy()
    np.testing.assert_allclose(ours, reference.predict_proba(z), atol=1e-5)
    # sklearn's multinomial coefficients are the same up to a shift shared by all classes
    np.testing.assert_allclose(fitted.weight.numpy().T - fitted.weight.numpy().T.mean(0), reference.coef_ - reference.coef_.mean(0), atol=1e-4)


def test_linear_probe_selects_on_validation_and_reports_test_there():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(300, 20, generator=g)
    y = (x[:, :3].sum(1) > 0).long()
    result = linear_probe((x[:100], y[:100]), (x[100:200], y[100:200]), (x[200:], y[200:]), l2_grid=(1.0, 1e-2, 1e-5))
    best = max(result["val_by_l2"].items(), key=lambda item: (item[1], float(item[0])))
    assert result["l2"] == float(best[0]) and result["val_accuracy"] == best[1]
    cold = fit_linear_probe(x[:100], y[:100], 2, l2=result["l2"])  # warm starts reach the same optimum
    assert result["test_accuracy"] == pytest.approx(cold.accuracy(x[200:].double(), y[200:]))


@pytest.fixture(scope="module")
def digits():
    source = open_image_source()
    pick = torch.arange(0, 5000, 5)  # 1,000 real digits, 100 per class
    return ImageSource(source.images[pick], source.labels[pick], path=source.path)


def test_probe_on_raw_mnist_pixels(digits):
    x, y = pixels(digits)
    assert x.shape == (1000, 784)
    torch.testing.assert_close(x[7], digits.batch(torch.tensor([7])).normalized().flatten())
    result = probe(x, y, ks=(20,), l2_grid=(1.0,))
    assert result["items"] == {"train": 600, "val": 200, "test": 200}
    # raw pixels already separate digits well: the protocols must see it
    assert result["knn"]["20"]["test_accuracy"] > 0.8 and result["linear"]["test_accuracy"] > 0.8
    shuffled = probe(x, y[torch.randperm(1000, generator=torch.Generator().manual_seed(0))], ks=(20,), l2_grid=(1.0,))
    assert shuffled["knn"]["20"]["test_accuracy"] < 0.25  # labels without signal: chance level


def test_embed_runs_the_encoder_in_eval_mode(digits):
    from molssl.vision.resnet import ResNet, ResNetConfig

    torch.manual_seed(0)
    encoder = ResNet(ResNetConfig(width=4, in_channels=1, small_images=True, blocks=(1, 1, 1, 1)))
    x, y = embed(encoder, digits, batch_size=64, indices=torch.arange(10))
    assert x.shape == (10, 32) and y.tolist() == digits.labels[:10].tolist() and encoder.training
    with torch.no_grad():
        expected = encoder.eval()(digits.batch(torch.arange(10)).normalized())
    torch.testing.assert_close(x, expected)
