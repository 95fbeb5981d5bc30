"""Peer crawler for the local-web benchmark: Scrapy on the same generated web.

usage: python peer_scrapy.py START_URL
Follows every link (the web is all on 127.0.0.0/8), extracts the visible text of each page as the
kuzet crawler does, no robots.txt, no delay, 128 requests in flight, 16 per host. Prints one JSON
line: pages, wall seconds, CPU seconds, peak RSS MiB. Scrapy keeps its queue and seen set in memory
(the kuzet crawler commits every page and its links to SQLite).
"""
import json
import resource
import sys
import time

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor


class LocalWeb(scrapy.Spider):
    name = "localweb"
    pages = 0
    links = LinkExtractor()

    def __init__(self, start, **kw):
        super().__init__(**kw)
        self.start_urls = [start]

    def parse(self, response):
        LocalWeb.pages += 1
        " ".join(t.strip() for t in response.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]").getall())
        for link in self.links.extract_links(response):
            yield scrapy.Request(link.url, callback=self.parse)


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


if __name__ == "__main__":
    process = CrawlerProcess(settings={
        "ROBOTSTXT_OBEY": False,
        "CONCURRENT_REQUESTS": 128,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "DOWNLOAD_DELAY": 0,
        "LOG_LEVEL": "ERROR",
        "TELNETCONSOLE_ENABLED": False,
        "DEPTH_LIMIT": 0,
        "REACTOR_THREADPOOL_MAXSIZE": 4,
    })
    process.crawl(LocalWeb, start=sys.argv[1])
    c0, t0 = cpu(), time.monotonic()
    process.start()
    wall, cpu_s = time.monotonic() - t0, cpu() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"pages": LocalWeb.pages, "wall": wall, "cpu": cpu_s, "peak_mib": peak}))
