"""Input specs, including the ``@N`` subset used by CPU-scale studies."""
import pytest

from mosaic.data.sources import resolve_examples


def test_subset_is_fixed_spread_and_in_file_order():
    full = list(resolve_examples("bundled"))
    sub = list(resolve_examples("bundled@40"))
    assert len(sub) == 40 and [e.id for e in sub] == [e.id for e in list(resolve_examples("bundled@40"))]
    positions = [next(i for i, e in enumerate(full) if e.id == s.id) for s in sub]
    assert positions == sorted(positions)
    assert positions[-1] - positions[0] > len(full) // 2  # spread over the file, not its head
    assert len({e.source for e in sub}) == 1 and len(list(resolve_examples("bundled@100000"))) == len(full)


def test_subset_size_must_be_positive():
    with pytest.raises(ValueError, match="subset size"):
        list(resolve_examples("bundled@0"))


def test_a_union_is_its_parts_in_order_and_refuses_shared_ids():
    from mosaic.data.sources import resolve_examples
    from mosaic.stages import source_fingerprint

    both = list(resolve_examples("bundled@5+verifiable:4"))
    assert [e.id for e in both] == [e.id for e in resolve_examples("bundled@5")] + \
        [e.id for e in resolve_examples("verifiable:4")]
    assert source_fingerprint("bundled@5+verifiable:4") == \
        f"{source_fingerprint('bundled@5')}+{source_fingerprint('verifiable:4')}"
    with pytest.raises(ValueError, match="'bundled-0001' is in both 'bundled@628' and 'bundled'"):
        list(resolve_examples("bundled@628+bundled"))
    with pytest.raises(ValueError, match="empty part"):
        list(resolve_examples("bundled+"))
