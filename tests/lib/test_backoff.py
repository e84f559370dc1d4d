from actors._lib.backoff import Backoff


def test_doubles_up_to_the_cap_and_resets() -> None:
    b = Backoff(initial=1, cap=10, jitter=(1, 1))
    assert [b.next() for _ in range(6)] == [1, 2, 4, 8, 10, 10]
    b.reset()
    assert b.next() == 1


def test_jitter_stays_inside_its_band() -> None:
    values = iter([0.0, 1.0, 0.5])
    b = Backoff(initial=4, cap=100, jitter=(0.5, 1.5), rand=lambda: next(values))
    assert [b.next() for _ in range(3)] == [2.0, 12.0, 16.0]  # 4*0.5, 8*1.5, 16*1.0
