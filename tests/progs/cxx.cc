/*
 * cxx.cc - a C++ program under memtop: operator new/delete, exceptions
 * thrown and caught in several threads, iostreams.  Prints how many
 * exceptions were caught; the collector must not change that or the exit
 * status, and its counts are compared with valgrind's.
 */
#include <atomic>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

int main()
{
	std::atomic<int> caught{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; t++)
		threads.emplace_back([&caught] {
			for (int i = 0; i < 1000; i++) {
				try {
					throw std::runtime_error(std::string(100, 'x'));
				} catch (const std::exception &) {
					caught++;
				}
				auto *v = new std::vector<int>(100);
				delete v;
			}
		});
	for (auto &t : threads)
		t.join();
	std::cout << "caught " << caught << std::endl;
	return caught == 4000 ? 0 : 1;
}
