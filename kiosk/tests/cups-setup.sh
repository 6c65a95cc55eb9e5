#!/bin/sh
# Makes a CUPS queue that writes PDFs (cups-pdf) ready for the ticket tests: starts cupsd when it
# is not running and adds the queue when it is missing. Run as root on Debian with the packages
# `cups` and `printer-driver-cups-pdf` installed. Prints the directory cups-pdf writes root's
# jobs to as its last line. Usage: cups-setup.sh QUEUE
set -eu

queue=${1:?usage: cups-setup.sh QUEUE}

for tool in cupsd lpadmin lpstat lpinfo; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        echo "cups-setup: $tool is missing: install the Debian packages cups and printer-driver-cups-pdf" >&2
        exit 2
    fi
done
PATH="$PATH:/usr/sbin"

if ! lpstat -r 2>/dev/null | grep -q 'scheduler is running'; then
    # No systemd in containers: start the daemon itself (it forks into the background). A
    # second caller racing this one fails to bind; the wait below covers both.
    cupsd || true
    tries=0
    until lpstat -r 2>/dev/null | grep -q 'scheduler is running'; do
        tries=$((tries + 1))
        if [ "$tries" -gt 50 ]; then
            echo "cups-setup: cupsd did not start" >&2
            exit 3
        fi
        sleep 0.2
    done
fi

if ! lpstat -p "$queue" >/dev/null 2>&1; then
    ppd=$(lpinfo -m | awk '/CUPS-PDF_noopt\.ppd/ { print $1; exit }')
    if [ -z "$ppd" ]; then
        ppd=$(lpinfo -m | awk 'tolower($0) ~ /cups-pdf/ { print $1; exit }')
    fi
    if [ -z "$ppd" ]; then
        echo "cups-setup: no cups-pdf driver found (lpinfo -m)" >&2
        exit 4
    fi
    lpadmin -p "$queue" -E -v cups-pdf:/ -m "$ppd"
fi
# cups-pdf gets PostScript: with the default renderers (gs, pdftops) every embedded font comes
# out as Type 3 without usable Unicode and pdftotext reads nothing; pdftocairo keeps most text.
lpadmin -p "$queue" -o pdftops-renderer-default=pdftocairo
# A queue left disabled or rejecting by an earlier run is made ready again.
cupsenable "$queue" 2>/dev/null || /usr/sbin/cupsenable "$queue"
cupsaccept "$queue" 2>/dev/null || /usr/sbin/cupsaccept "$queue"

# cups-pdf's `Out` setting, with ${HOME} and ${USER} as cups-pdf fills them in for root.
out=$(awk '$1 == "Out" { print $2 }' /etc/cups/cups-pdf.conf 2>/dev/null | tail -n 1)
[ -n "$out" ] || out='/var/spool/cups-pdf/${USER}'
home=$(getent passwd root | cut -d: -f6)
echo "$out" | sed -e "s|\${HOME}|$home|g" -e 's|\${USER}|root|g'
