"""The server's FIFO lock: a holder that releases and asks again at once (a large batch between two chunks)
goes behind the threads already waiting, which are served in the order they asked."""
import threading
import time

from evaluation.server.fairlock import FairLock


def test_waiters_are_served_in_arrival_order_before_the_holder_asks_again():
    lock, order = FairLock(), []

    def waiter(i):
        with lock:
            order.append(i)

    lock.__enter__()
    threads = []
    for i in range(5):
        threads.append(threading.Thread(target=waiter, args=(i,)))
        threads[-1].start()
        while lock.waiting < i + 1:  # the event: thread i holds its ticket
            time.sleep(0.001)
    lock.__exit__(None, None, None)
    with lock:  # the holder's next chunk
        order.append("holder")
    for t in threads:
        t.join()
    assert order == [0, 1, 2, 3, 4, "holder"] and lock.waiting == 0
