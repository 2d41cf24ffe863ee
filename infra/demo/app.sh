#!/bin/sh
cat /app/greeting.txt
echo "built at revision $(cat /app/revision 2>/dev/null || echo unknown)"
